"""Fused optimizer updates: each update rule as one CuPy ElementwiseKernel (``fused=True``).

The ``xp`` path of an optimizer runs a rule as a sequence of array operations, each one a
kernel that reads and writes whole arrays; here the whole rule for one parameter is one kernel
that reads each array once and writes each state array once. It is used only when the user
passes ``fused=True`` (PyTorch's argument) and only for CUDA parameters; the ``xp`` path stays
the reference, and ``benchmarks/optim_step.py --device cuda`` measures the difference.

A rule is written once, as assignments whose right-hand sides are valid both in CUDA C and in
Python (``+ - * /``, parentheses, ``sqrt``, ``max``), in exactly the operation order of the
``xp`` path. The same statements become the kernel's source and, for tests on machines without
a GPU, a NumPy evaluation (:meth:`FusedRule.evaluate_numpy`), so the formulas are checked
against the ``xp`` path everywhere; only the compiled kernel needs a GPU. (The CUDA compiler may
contract ``a * b + c`` into one fused multiply-add, so results can differ from the ``xp`` path
in the last bit.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import backend

__all__ = [
    "FusedRule",
    "adagrad_rule",
    "adam_rule",
    "check_fused_params",
    "launch",
    "rmsprop_rule",
    "sgd_rule",
]


@dataclass(frozen=True)
class FusedRule:
    """One elementwise update: read-only array ``inputs``, in-place ``outputs``, T ``scalars``.

    ``statements`` are ``(target, expression)`` pairs; a target that is not an output is a
    temporary of the parameter's dtype.
    """

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    scalars: tuple[str, ...]
    statements: tuple[tuple[str, str], ...]

    def source(self) -> str:
        """The kernel body in CUDA C (each temporary declared at its first assignment)."""
        declared = set(self.inputs) | set(self.outputs) | set(self.scalars)
        lines = []
        for target, expr in self.statements:
            prefix = "" if target in declared else "T "
            declared.add(target)
            lines.append(f"{prefix}{target} = {expr};")
        return "\n".join(lines)

    def evaluate_numpy(self, arrays: dict, scalars: dict) -> None:
        """Run the statements on NumPy arrays (outputs updated in place), scalars cast to T."""
        dtype = arrays[self.outputs[0]].dtype
        env = {"sqrt": np.sqrt, "max": np.maximum, "__builtins__": {}}
        env.update({k: dtype.type(v) for k, v in scalars.items()})
        env.update({k: arrays[k] for k in self.inputs + self.outputs})
        for target, expr in self.statements:
            value = eval(expr, env)  # noqa: S307  (the rule's own fixed statements, not input)
            if target in self.outputs:
                env[target][...] = value
            else:
                env[target] = value


def launch(rule: FusedRule, arrays: dict, scalars: dict) -> None:
    """Run ``rule`` as one CuPy kernel: inputs, then scalars, then the in-place outputs."""
    kernel = backend.elementwise_kernel(
        ", ".join([f"T {name}" for name in rule.inputs + rule.scalars]),
        ", ".join(f"T {name}" for name in rule.outputs),
        rule.source(),
        f"tinygrad_mom_{rule.name}",
    )
    kernel(
        *(arrays[name] for name in rule.inputs),
        *(scalars[name] for name in rule.scalars),
        *(arrays[name] for name in rule.outputs),
    )


def check_fused_params(name: str, params) -> None:
    """``fused=True`` needs float32/float64 CUDA parameters: a clear error before anything runs."""
    for p in params:
        if not p.is_cuda:
            raise RuntimeError(
                f"{name}: fused=True needs all parameters on a CUDA device (a CuPy kernel per "
                f"update), but one is on {p.device!r}; use the default fused=None on the CPU"
            )
        if p.dtype not in (np.float32, np.float64):
            # the kernels use sqrt/max overloads that CUDA defines for float and double only
            raise RuntimeError(
                f"{name}: fused=True supports float32 and float64 parameters, got dtype "
                f"{p.dtype}; use the default fused=None"
            )


# ----------------------------------------------------------------------------------------------
# the rules (each mirrors its optimizer's update(), operation for operation)


def _direction(weight_decay: bool, maximize: bool) -> list[tuple[str, str]]:
    """d = (±g) + λθ, as Optimizer._direction forms it (λθ first, then ± g)."""
    if weight_decay:
        return [("d", "p * wd - g" if maximize else "p * wd + g")]
    return [("d", "-g" if maximize else "g")]


def _lerp(a: str, b: str, weight: float) -> tuple[str, str]:
    """a ← a + w·(b − a) with PyTorch's two-branch lerp (as optimizer.lerp_).

    The scalars ``lerp_w`` = w and ``lerp_omw`` = 1 − w are computed on the host as lerp_ does.
    """
    if abs(weight) < 0.5:
        return (a, f"{a} + ({b} - {a}) * lerp_w")
    return (a, f"{b} - ({b} - {a}) * lerp_omw")


def sgd_rule(
    *, momentum: bool, first: bool, nesterov: bool, dampening: bool, weight_decay: bool,
    maximize: bool,
) -> FusedRule:  # fmt: skip
    """SGD, PyTorch's momentum form (SGD.update with momentum_style="torch")."""
    statements = _direction(weight_decay, maximize)
    if not momentum:
        statements.append(("p", "p + d * neg_lr"))
        outputs = ("p",)
    else:
        if first:
            statements.append(("buf", "d"))  # b = g on the first step
        elif dampening:
            statements.append(("buf", "buf * mu + d * one_minus_damp"))
        else:
            statements.append(("buf", "buf * mu + d"))
        statements.append(("p", "p + (buf * mu + d) * neg_lr" if nesterov else "p + buf * neg_lr"))
        outputs = ("p", "buf")
    flags = f"{int(momentum)}{int(first)}{int(nesterov)}{int(dampening)}"
    flags += f"{int(weight_decay)}{int(maximize)}"
    return FusedRule(
        f"sgd_{flags}", ("g",), outputs, ("neg_lr", "mu", "one_minus_damp", "wd"),
        tuple(statements),
    )  # fmt: skip


def adam_rule(
    *, amsgrad: bool, decoupled: bool, weight_decay: bool, maximize: bool, beta1: float
) -> FusedRule:
    """Adam / AdamW / AMSGrad (Adam.update)."""
    statements = []
    if decoupled and weight_decay:
        statements.append(("p", "p * decay"))
    statements += _direction(weight_decay and not decoupled, maximize)
    statements.append(_lerp("m", "d", 1.0 - beta1))
    statements.append(("v", "v * beta2 + d * one_minus_beta2 * d"))
    outputs = ("p", "m", "v")
    second = "v"
    if amsgrad:
        statements.append(("vmax", "max(vmax, v)"))
        outputs += ("vmax",)
        second = "vmax"
    statements.append(("denom", f"sqrt({second}) / sqrt_bc2 + eps"))
    statements.append(("p", "p + m * neg_step_size / denom"))
    flags = f"{int(amsgrad)}{int(decoupled)}{int(weight_decay)}{int(maximize)}"
    flags += str(int(abs(1.0 - beta1) < 0.5))
    return FusedRule(
        f"adam_{flags}", ("g",), outputs,
        ("decay", "wd", "lerp_w", "lerp_omw", "beta2", "one_minus_beta2", "sqrt_bc2", "eps",
         "neg_step_size"),
        tuple(statements),
    )  # fmt: skip


def rmsprop_rule(
    *, centered: bool, momentum: bool, weight_decay: bool, maximize: bool, alpha: float
) -> FusedRule:
    """RMSprop (RMSprop.update)."""
    statements = _direction(weight_decay, maximize)
    statements.append(("sq", "sq * alpha + d * one_minus_alpha * d"))
    outputs = ("p", "sq")
    if centered:
        statements.append(_lerp("ga", "d", 1.0 - alpha))
        statements.append(("denom", "sqrt(-ga * ga + sq) + eps"))
        outputs += ("ga",)
    else:
        statements.append(("denom", "sqrt(sq) + eps"))
    if momentum:
        statements.append(("buf", "buf * mu + d / denom"))
        statements.append(("p", "p + buf * neg_lr"))
        outputs += ("buf",)
    else:
        statements.append(("p", "p + d * neg_lr / denom"))
    flags = f"{int(centered)}{int(momentum)}{int(weight_decay)}{int(maximize)}"
    flags += str(int(abs(1.0 - alpha) < 0.5))
    return FusedRule(
        f"rmsprop_{flags}", ("g",), outputs,
        ("wd", "alpha", "one_minus_alpha", "lerp_w", "lerp_omw", "eps", "mu", "neg_lr"),
        tuple(statements),
    )  # fmt: skip


def adagrad_rule(*, weight_decay: bool, maximize: bool) -> FusedRule:
    """Adagrad (Adagrad.update)."""
    statements = _direction(weight_decay, maximize)
    statements += [("s", "s + d * d"), ("denom", "sqrt(s) + eps"), ("p", "p + d * neg_clr / denom")]
    return FusedRule(
        f"adagrad_{int(weight_decay)}{int(maximize)}", ("g",), ("p", "s"),
        ("wd", "eps", "neg_clr"), tuple(statements),
    )  # fmt: skip
