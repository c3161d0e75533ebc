"""Adam for g̃'s training, as ``torch.optim.Adam`` computes it on the CPU, without its import cost.

``torch.optim.Adam`` wraps its methods so that the first call imports ``torch._dynamo``
(the compiler), two seconds of a cold run that trains one small MLP.  :class:`Adam`
is the update ``torch.optim.Adam`` applies to CPU tensors (its single-tensor path:
foreach and fused kernels are for accelerators; no AMSGrad, no maximize, L2 weight
decay added to the gradient), the same tensor operations in the same order, so the
weights after any number of steps are the same bit for bit
(``tests/test_confidence.py::test_adam_is_torch_adam_bit_for_bit``).
"""

from __future__ import annotations

from typing import Iterable


class Adam:
    """``torch.optim.Adam(params, lr, betas, eps, weight_decay)`` on CPU tensors."""

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        self.params = list(params)
        self.lr, self.eps, self.weight_decay = float(lr), float(eps), float(weight_decay)
        self.beta1, self.beta2 = float(betas[0]), float(betas[1])
        self.state: list[dict] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        import torch

        lr, eps, wd, beta1, beta2 = self.lr, self.eps, self.weight_decay, self.beta1, self.beta2
        with torch.no_grad():
            for param, state in zip(self.params, self.state):
                grad = param.grad
                if grad is None:
                    continue
                if not state:
                    state["step"] = torch.tensor(0.0, dtype=torch.float32)
                    state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                step_t, exp_avg, exp_avg_sq = state["step"], state["exp_avg"], state["exp_avg_sq"]
                step_t += 1
                if wd != 0:
                    grad = grad.add(param, alpha=wd)
                exp_avg.lerp_(grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                step = step_t.item()
                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                step_size = lr / bias_correction1
                bias_correction2_sqrt = bias_correction2 ** 0.5
                denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
                param.addcdiv_(exp_avg, denom, value=-step_size)
