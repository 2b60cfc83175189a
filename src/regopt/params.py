"""Which parameters a penalty or the optimiser's weight decay covers: one rule, one place.

`weights`: the weight matrices and kernels of linear and convolutional layers (tensors with two or
more dimensions, outside normalisation layers). Biases and normalisation scales are left out, as is
usual: penalising them constrains offsets, not the function's complexity. A layer may name
parameters that are not weights in `scale_parameters` (a Bayesian layer's posterior scales).
`all`: every trainable parameter.

Each parameter is selected once, even when modules share it (tied weights): a penalty counts it
once, and the optimiser's decay group holds it once (torch would otherwise update it twice).
"""

from __future__ import annotations

from torch import nn

RULES = ("weights", "all")
_NORM_LAYERS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


def select_parameters(model: nn.Module, rule: str = "weights") -> list[tuple[str, nn.Parameter]]:
    if rule not in RULES:
        raise ValueError(f"params={rule!r}; allowed: {', '.join(RULES)}")
    selected = []
    seen: set[int] = set()
    for module_name, module in model.named_modules():
        is_norm = isinstance(module, _NORM_LAYERS)
        not_weights = set(getattr(module, "scale_parameters", ()))
        for param_name, param in module.named_parameters(recurse=False):
            if not param.requires_grad or id(param) in seen:
                continue
            seen.add(id(param))
            is_weight = param.ndim >= 2 and not is_norm and param_name not in not_weights
            if rule == "all" or is_weight:
                selected.append((f"{module_name}.{param_name}".lstrip("."), param))
    return selected
