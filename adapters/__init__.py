"""Built-in adapter kinds: name -> lazy "module:attr" reference (see harness.core.registry)."""

BUILTIN_ADAPTERS: dict[str, str] = {
    "torch": "adapters.torch_module:TorchModuleAdapter",
    "hf-image": "adapters.hf_image:HFImageAdapter",
    "hf-text": "adapters.hf_text:HFTextAdapter",
    "onnx": "adapters.onnx_runtime:OnnxRuntimeAdapter",
    "torchscript": "adapters.torchscript:TorchScriptAdapter",
    "sklearn": "adapters.sklearn_model:SklearnAdapter",
    "callable": "adapters.python_callable:CallableAdapter",
    # built by the plan from a model's `variants:` list, never named in a spec's `adapter:`
    "variant": "adapters.variants.adapter:VariantAdapter",
}
