"""The bench sections, one module each; `manifold_bench.registry.load_sections` imports every module
here, and each registers its section with `@register`. A new section is a new module: nothing else
lists them."""
