"""Built-in adapter kinds: name -> lazy "module:attr" reference (see harness.registry)."""

BUILTIN_ADAPTERS: dict[str, str] = {
    "torch": "adapters.torch_module:TorchModuleAdapter",
}
