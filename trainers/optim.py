"""The optimizers the families build, in one place: PyTorch's Adam, on its fused kernel, and
:class:`PackedAdam` for the toy MLPs.

The fused implementation updates every parameter of a group in one kernel instead of a dozen
small ops per tensor. Measured on this project's 2-core CPU (bench/, the 2-D toy GAN): one Adam
step of an 8-tensor MLP takes 144 us fused against 379 us for the default per-tensor loop; small
networks, whose steps are mostly such overhead, train up to 15% faster. On CUDA it is PyTorch's
recommended fast path.
"""

from __future__ import annotations

import inspect
from typing import Iterable

import torch
import torch.optim.optimizer as optimizer_module
from torch import Tensor, nn

#: device types with a fused Adam kernel for floating-point parameters
FUSED_DEVICES = ("cpu", "cuda")

#: Adam's own step without the wrapper torch.optim puts around every optimizer class's ``step``
#: (step hooks and a profiler range): PackedAdam's fallback, whose caller has run them once already
_ADAM_STEP = inspect.unwrap(torch.optim.Adam.step)


def adam(params: Iterable[nn.Parameter], lr: float, betas: tuple[float, float] = (0.9, 0.999), *,
         weight_decay: float = 0.0, decoupled: bool = False) -> torch.optim.Optimizer:
    """Adam (AdamW's decoupled weight decay with ``decoupled``), fused where the parameters' device
    has the kernel, otherwise PyTorch's default implementation."""
    params = list(params)
    fused = bool(params) and all(p.device.type in FUSED_DEVICES and p.is_floating_point() for p in params)
    optimizer = torch.optim.AdamW if decoupled else torch.optim.Adam
    return optimizer(params, lr, betas=betas, weight_decay=weight_decay, fused=True if fused else None)


def gradient_norm(params: Iterable[Tensor]) -> Tensor:
    """L2 norm of all the given parameters' gradients together (0 when none has one)."""
    grads = [p.grad for p in params if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))) if grads else torch.zeros(())


class PackedAdam(torch.optim.Adam):
    """Fused Adam whose parameters, gradients and moments each lie in one contiguous buffer, so a step
    is one kernel call on one tensor and the gradient norm one reduction. For networks so small that
    a step is mostly per-tensor overhead (the 2-D lab's MLPs). Measured on the 2-core CPU, an
    8-tensor MLP's step: 120 us for ``torch.optim.Adam(fused=True)``, 30 us packed (:meth:`update`);
    its gradient norm 32 us, 4 us packed. The 2-D toy GAN trains 1.18-1.22x faster with it.

    Packing re-points each parameter's ``.data`` (and ``.grad``) at its slice of the buffer, so the
    module keeps its parameters, names, state dict and checkpoints, and this optimizer's
    ``state_dict`` is Adam's own. Whatever replaces them later is noticed at the next step: moved
    parameters (``.to()``) and loaded optimizer state are packed again; fresh gradients (autograd
    after ``zero_grad(set_to_none=True)``) are copied into the buffer, one copy for all; a parameter
    without a gradient makes that step Adam's own per-tensor one, which skips it.
    """

    def __init__(self, params: Iterable[nn.Parameter], lr: float, betas: tuple[float, float] = (0.9, 0.999), *,
                 weight_decay: float = 0.0, decoupled: bool = False):
        super().__init__(params, lr, betas=betas, weight_decay=weight_decay, fused=True,
                         decoupled_weight_decay=decoupled)
        if len(self.param_groups) != 1:
            raise ValueError("PackedAdam packs one parameter group")
        if len({(p.device, p.dtype) for p in self.param_groups[0]["params"]}) != 1:
            raise ValueError("PackedAdam packs parameters of one device and dtype")
        self._pack()

    def _pack(self) -> None:
        """Copy the parameters, their gradients and Adam's state into one buffer each (state not yet
        made starts at zero) and point every tensor at its slice."""
        params = self._params = self.param_groups[0]["params"]
        total = sum(p.numel() for p in params)
        like = params[0]
        self._flat = {name: like.new_zeros(total) for name in ("param", "grad", "exp_avg", "exp_avg_sq")}
        #: each parameter's step count is one element of this (Adam's state keeps one per parameter)
        self._steps = torch.zeros(len(params), dtype=torch.float32, device=like.device)
        self._grad_slots: list[Tensor] = []
        offset = 0
        for i, p in enumerate(params):
            views = {name: flat[offset:offset + p.numel()].view_as(p) for name, flat in self._flat.items()}
            offset += p.numel()
            views["param"].copy_(p.detach())
            p.data = views["param"]
            if p.grad is not None:
                views["grad"].copy_(p.grad)
            p.grad = views["grad"]
            state = self.state[p]
            for name in ("exp_avg", "exp_avg_sq"):
                if name in state:
                    views[name].copy_(state[name])
                state[name] = views[name]
            if "step" in state:
                self._steps[i] = state["step"]
            state["step"] = self._steps[i]  # a 0-d view: Adam's own step increments it in place
            self._grad_slots.append(views["grad"])
        self._pointers = [p.data_ptr() for p in params]
        #: one step count for all (the packed kernel reads one): false once Adam's own step skipped a
        #: parameter without a gradient, until packed again
        self._steps_agree = len(set(self._steps.tolist())) == 1

    def _in_place(self) -> bool:
        """Are the parameters still the buffer's slices (not moved or replaced since packing)?"""
        return [p.data_ptr() for p in self._params] == self._pointers

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        self._pack()

    def _gradients_packed(self) -> bool:
        """True when every gradient is in the buffer (copied there, one copy for all, where autograd
        made a fresh one); False when a parameter has none."""
        slots = self._grad_slots
        if all(p.grad is slot for p, slot in zip(self._params, slots)):
            return True
        if any(p.grad is None for p in self._params):
            return False
        fresh = [(p, slot) for p, slot in zip(self._params, slots) if p.grad is not slot]
        torch._foreach_copy_([slot for _, slot in fresh], [p.grad for p, _ in fresh])
        for p, slot in fresh:
            p.grad = slot
        return True

    @torch.no_grad()
    def step(self, closure=None):
        if closure is not None:
            raise ValueError("PackedAdam takes no closure")
        self._update()

    def update(self) -> None:
        """:meth:`step` for a loop that steps thousands of times a second: without torch.optim's
        wrapper around ``step`` (a profiler range and the hook lists), which costs 30 us a call
        here, as much as the update. Where step hooks are registered, ``step``."""
        if (self._optimizer_step_pre_hooks or self._optimizer_step_post_hooks
                or optimizer_module._global_optimizer_pre_hooks or optimizer_module._global_optimizer_post_hooks):
            self.step()
        else:
            self._update()

    def _update(self) -> None:
        if not self._in_place():
            self._pack()
        group = self.param_groups[0]
        if not self._gradients_packed():
            self._steps_agree = False
            _ADAM_STEP(self)
            return
        if not self._steps_agree or group["amsgrad"] or group["differentiable"] or group["capturable"]:
            _ADAM_STEP(self)
            return
        self._steps.add_(1)
        beta1, beta2 = group["betas"]
        # torch.optim's own fused kernel (what Adam(fused=True) calls per tensor list), on one tensor each
        kernel = torch._fused_adamw_ if group["decoupled_weight_decay"] else torch._fused_adam_
        flat = self._flat
        kernel([flat["param"]], [flat["grad"]], [flat["exp_avg"]], [flat["exp_avg_sq"]], [], [self._steps[0]],
               lr=group["lr"], beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"], eps=group["eps"],
               amsgrad=False, maximize=group["maximize"])

    def grad_norm(self) -> Tensor:
        """:func:`gradient_norm` of the parameters: one reduction over the buffer while packed."""
        if self._gradients_packed() and self._in_place():
            return torch.linalg.vector_norm(self._flat["grad"])
        return gradient_norm(self._params)
