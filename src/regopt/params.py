"""Which parameters a penalty or the optimiser's weight decay covers: one rule, one place.

`weights`: the weight matrices and kernels of linear and convolutional layers (tensors with two or
more dimensions, outside normalisation layers). Biases and normalisation scales are left out, as is
usual: penalising them constrains offsets, not the function's complexity.
`all`: every trainable parameter.
"""

from __future__ import annotations

from torch import nn

RULES = ("weights", "all")
_NORM_LAYERS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


def select_parameters(model: nn.Module, rule: str = "weights") -> list[tuple[str, nn.Parameter]]:
    if rule not in RULES:
        raise ValueError(f"params={rule!r}; allowed: {', '.join(RULES)}")
    selected = []
    for module_name, module in model.named_modules():
        is_norm = isinstance(module, _NORM_LAYERS)
        for param_name, param in module.named_parameters(recurse=False):
            if not param.requires_grad:
                continue
            if rule == "all" or (param.ndim >= 2 and not is_norm):
                selected.append((f"{module_name}.{param_name}".lstrip("."), param))
    return selected
