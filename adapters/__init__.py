"""Built-in adapter kinds: name -> lazy "module:attr" reference (see harness.core.registry)."""

BUILTIN_ADAPTERS: dict[str, str] = {
    "torch": "harness.adapters.torch_module:TorchModuleAdapter",
    "hf-image": "harness.adapters.hf_image:HFImageAdapter",
    "hf-text": "harness.adapters.hf_text:HFTextAdapter",
    "onnx": "harness.adapters.onnx_runtime:OnnxRuntimeAdapter",
    "torchscript": "harness.adapters.torchscript:TorchScriptAdapter",
    "sklearn": "harness.adapters.sklearn_model:SklearnAdapter",
    "callable": "harness.adapters.python_callable:CallableAdapter",
    # built by the plan from a model's `variants:` list, never named in a spec's `adapter:`
    "variant": "harness.adapters.variants.adapter:VariantAdapter",
}
