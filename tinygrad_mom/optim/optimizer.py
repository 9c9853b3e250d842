"""The Optimizer base class: PyTorch's param_groups, index-keyed lazy state, hooks, state_dict.

A subclass implements one method, ``update(p, g, state, group)``, which changes the raw arrays
``p`` (the parameter) and the entries of ``state`` in place. ``g`` is the gradient's raw array
and is never written to: the user (and the step statistics) may still read ``p.grad`` after the
step, as in PyTorch. Everything else lives here once:

* ``param_groups`` is a list of dicts, each with ``"params"`` and the hyper-parameters;
* ``state`` holds one dict per parameter, keyed by the parameter's global index (its position
  when walking ``param_groups`` in order), created lazily on the parameter's first update;
* parameters whose ``grad`` is None are skipped;
* ``state_dict()`` holds only NumPy arrays and plain Python values, parameters referred to by
  index, and ``load_state_dict`` checks everything before changing anything.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import _validation as V
from .. import backend
from ..backend import get_array_module
from ..nn.utils import RemovableHandle
from ..tensor import Tensor, _bump_version, enable_grad

__all__ = ["Optimizer", "ParamState", "required"]


class _RequiredParameter:
    """Marker for a hyper-parameter with no default that must be given (as PyTorch's)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _fmt(x) -> str:
    """A number as short text for describe()."""
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, (int, float, np.floating, np.integer)):
        return f"{float(x):g}"
    if isinstance(x, (tuple, list)):
        return "(" + ", ".join(_fmt(v) for v in x) + ")"
    return repr(x)


def _plain(value):
    """A deep copy of a group or state value made of plain Python / NumPy objects only."""
    if isinstance(value, np.ndarray) or backend.is_cupy_array(value):
        return backend.to_numpy(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Tensor):
        return backend.to_numpy(value.array)
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return copy.deepcopy(value)


class ParamState(dict):
    """``optimizer.state``: per-parameter state dicts keyed by global parameter index.

    Keys are ints. For code written against PyTorch, ``opt.state[p]`` with the parameter Tensor
    itself also works (it is translated to the parameter's index by identity).
    """

    def __init__(self, optimizer: Optimizer) -> None:
        super().__init__()
        self._optimizer = optimizer

    def _key(self, key):
        if isinstance(key, Tensor):
            return self._optimizer._index_of(key)
        return key

    def __getitem__(self, key):
        return super().__getitem__(self._key(key))

    def __contains__(self, key) -> bool:
        return super().__contains__(self._key(key))

    def get(self, key, default=None):
        """The state of a parameter (index or Tensor), or ``default``."""
        return super().get(self._key(key), default)


class Optimizer:
    """Base class of all optimizers, with ``torch.optim.Optimizer``'s contract.

    Args:
        params: an iterable of Tensors, or of dicts each with a ``"params"`` entry and per-group
            hyper-parameters overriding ``defaults``.
        defaults: the default hyper-parameters, validated by :meth:`_validate`.
    """

    #: Names of array state entries that have the parameter's shape (checked on load); None
    #: means every array entry does. A subclass with differently shaped state overrides this.
    param_shaped_state: tuple[str, ...] | None = None

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], defaults: dict[str, Any]) -> None:
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {type(params).__name__}"
            )
        if isinstance(params, (dict, set, str)):
            raise TypeError(
                "params argument given to the optimizer should be an ordered iterable (list) of "
                f"Tensors or dicts, but got {type(params).__name__}"
            )
        try:
            groups = list(params)
        except TypeError:
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {type(params).__name__}"
            ) from None
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        self._validate_all({k: v for k, v in defaults.items() if v is not required})
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state = ParamState(self)
        self._step_pre_hooks: dict[int, Callable] = {}
        self._step_post_hooks: dict[int, Callable] = {}
        self._scratch_bufs: dict = {}
        self._opt_called = False
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # --- hyper-parameter validation ---------------------------------------------------------
    #: The boolean options of every update rule: only True/False pass (the string 'False' is
    #: truthy, and would silently switch the option on)
    _FLAGS = ("maximize", "nesterov", "amsgrad", "centered", "decoupled_weight_decay")

    def _validate_all(self, h: dict[str, Any]) -> None:
        """Check the boolean options of ``h``, then the rule's own :meth:`_validate`."""
        where = type(self).__name__
        for name in self._FLAGS:
            if name in h:
                V.flag(name, h[name], where=where)
        self._validate(h)

    def _validate(self, h: dict[str, Any]) -> None:
        """Raise TypeError/ValueError for an invalid hyper-parameter in ``h`` (group/defaults)."""
        if "lr" in h:
            self._check_lr(h["lr"])

    def _check_fused(self, h: dict[str, Any]) -> None:
        """``fused`` is None or a bool; True needs float32/float64 CUDA parameters."""
        fused = h.get("fused")
        if fused is not None and not isinstance(fused, bool):
            raise TypeError(f"fused must be None or a bool, got {fused!r}")
        if fused:
            from .fused import check_fused_params

            check_fused_params(type(self).__name__, h.get("params", ()))

    def _fused_ready(self, p) -> None:
        """A parameter moved to the CPU after construction cannot take a fused step: say so."""
        if not backend.is_cupy_array(p):
            raise RuntimeError(
                f"{type(self).__name__}: fused=True needs parameters on a CUDA device, but a "
                "parameter is on the CPU (moved after the optimizer was made?); use fused=None"
            )

    @staticmethod
    def _check_lr(lr) -> None:
        V.number_in("lr", lr, 0.0, label="learning rate")

    @staticmethod
    def _check_nonneg(name: str, value) -> None:
        # PyTorch's text says "Invalid epsilon value" for the argument named eps
        arg = "eps" if name == "epsilon" else name
        V.number_in(arg, value, 0.0, label=f"{name} value")

    @staticmethod
    def _check_range(name: str, value, low: float, high: float, high_open: bool = False) -> None:
        """Require low <= value <= high (or < high)."""
        V.number_in(name, value, low, high, high_open=high_open)

    @staticmethod
    def _check_betas(betas) -> None:
        if not isinstance(betas, (tuple, list)):
            raise TypeError(f"betas must be a pair (beta1, beta2), but got {V.describe(betas)}")
        if len(betas) != 2:
            raise ValueError(f"Invalid betas value: {betas!r} (expected a pair (beta1, beta2))")
        for i, b in enumerate(betas):
            V.number_in(f"betas[{i}]", b, 0.0, 1.0, high_open=True,
                        label=f"beta parameter at index {i}")

    # --- param groups -----------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (a dict with ``"params"``) with its own hyper-parameters."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("param_group must have a 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        merged = dict(param_group)
        merged["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in merged:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization "
                    f"parameter {name}"
                )
            merged.setdefault(name, default)
        self._validate_all(merged)
        if len(set(params)) != len(params):
            # PyTorch only warns here; a parameter listed twice would be updated twice per step
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        existing = {p for group in self.param_groups for p in group["params"]}
        if not existing.isdisjoint(params):
            raise ValueError("some parameters appear in more than one parameter group")
        # Keep the caller's dict object (as PyTorch does), now complete
        param_group.clear()
        param_group.update(merged)
        self.param_groups.append(param_group)

    def _index_of(self, p: Tensor) -> int:
        """The global index of parameter ``p`` (by identity), as used to key ``state``."""
        index = 0
        for group in self.param_groups:
            for q in group["params"]:
                if q is p:
                    return index
                index += 1
        raise KeyError("this tensor is not a parameter of the optimizer")

    # --- hooks ------------------------------------------------------------------------------
    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` before each step; may return (args, kwargs)."""
        handle = RemovableHandle(self._step_pre_hooks)
        self._step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` after each step."""
        handle = RemovableHandle(self._step_post_hooks)
        self._step_post_hooks[handle.id] = hook
        return handle

    # --- the step ---------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient: to None (default) or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.array[...] = 0

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient; return ``closure()``'s loss (or None).

        The closure, if given, is evaluated first with gradient recording enabled.
        """
        args: tuple = (closure,) if closure is not None else ()
        kwargs: dict = {}
        for hook in list(self._step_pre_hooks.values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(
                        f"optimizer step pre-hook must return None or a tuple of "
                        f"(new_args, new_kwargs), but got {result!r}"
                    )
                args, kwargs = result
        closure = args[0] if args else kwargs.get("closure")
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self._opt_called = True
        index = 0
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is not None:
                    # a parameter on a non-current GPU is updated under that GPU's context
                    backend.call_on_device_of(
                        p.array, self._update_at, index, p.array, grad.array, group
                    )
                    # a graph that saved this parameter before the step now raises at
                    # backward, as in PyTorch, instead of using the new values
                    _bump_version(p.array)
                index += 1
        for hook in list(self._step_post_hooks.values()):
            hook(self, args, kwargs)
        return loss

    def _update_at(self, index: int, p, g, group: dict) -> None:
        """``update`` with the state of parameter ``index``, made lazily on its first step."""
        state_dicts = self.state
        state = dict.get(state_dicts, index)
        if state is None:
            state = {}
            self.update(p, g, state, group)
            if state:  # stateless rules (plain SGD) keep no entry, as PyTorch
                dict.__setitem__(state_dicts, index, state)
        else:
            self.update(p, g, state, group)

    def update(self, p, g, state: dict, group: dict) -> None:
        """Apply one update to parameter array ``p`` given gradient array ``g`` (in place).

        ``state`` is this parameter's state dict (empty on its first update); ``group`` its
        param group. Override this in a subclass. ``g`` must not be modified.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement update(p, g, state, group)"
        )

    def scratch(self, p, slot: int = 0):
        """A reusable temporary array shaped like ``p`` (contents undefined; not saved).

        One flat buffer per (device, dtype, slot), grown to the largest parameter, so ``step``
        allocates no per-parameter temporaries.
        """
        key = (backend.device_of(p), p.dtype.str, slot)
        buf = self._scratch_bufs.get(key)
        n = p.size
        if buf is None or buf.size < n:
            buf = get_array_module(p).empty(max(n, 1), dtype=p.dtype)
            self._scratch_bufs[key] = buf
        return buf[:n].reshape(p.shape)

    def _direction(self, p, g, group: dict, slot: int = 0, weight_decay: float | None = None):
        """The gradient with maximize and coupled weight decay applied: −g if maximize, + λθ.

        Returns ``g`` itself when nothing changes, else a scratch array (``g`` is never written).
        """
        wd = float(group.get("weight_decay", 0.0)) if weight_decay is None else weight_decay
        maximize = group.get("maximize", False)
        if wd == 0.0 and not maximize:
            return g
        xp = get_array_module(p)
        d = self.scratch(p, slot)
        if wd != 0.0:
            # (±g) + λθ, the same sum PyTorch forms with grad.add(param, alpha=λ)
            xp.multiply(p, wd, out=d)
            if maximize:
                xp.subtract(d, g, out=d)
            else:
                xp.add(d, g, out=d)
        else:
            xp.negative(g, out=d)
        return d

    def _describe_direction(self, group: dict) -> list[str]:
        """The text of :meth:`_direction` (and of decoupled weight decay) for describe()."""
        lines = []
        if group.get("maximize", False):
            lines.append("g ← −g   (maximize)")
        lr, wd = group["lr"], group.get("weight_decay", 0.0)
        if wd != 0:
            if group.get("decoupled_weight_decay", False):
                lines.append(f"θ ← θ − {_fmt(lr * wd)}·θ   (decoupled weight decay: lr·{_fmt(wd)})")
            else:
                lines.append(f"g ← g + {_fmt(wd)}·θ   (weight_decay, coupled L2)")
        return lines

    # --- introspection ----------------------------------------------------------------------
    def effective_lr(self, p, state: dict, group: dict):
        """The step size applied to each element in the last update: a float, or an array."""
        return float(group["lr"])

    def _describe_group(self, group: dict) -> list[str]:
        """The update equations of one group, as text lines (override in subclasses)."""
        doc = (type(self).__doc__ or "").strip().splitlines()
        hyper = ", ".join(f"{k}={_fmt(v)}" for k, v in group.items() if k != "params")
        return [doc[0] if doc else type(self).__name__, hyper]

    def describe(self) -> str:
        """The exact update equations, with this optimizer's numbers, for every param group."""
        lines = [f"{type(self).__name__}: g is the gradient, θ the parameter, t the step count"]
        for i, group in enumerate(self.param_groups):
            n = sum(int(p.numel()) for p in group["params"])
            lines.append(f"param group {i} ({len(group['params'])} tensors, {n} elements):")
            lines.extend("    " + line for line in self._describe_group(group))
        return "\n".join(lines)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    # --- checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [...]}`` of NumPy arrays and plain values.

        Parameters are referred to by their global index; arrays are host copies.
        """
        groups = []
        index = 0
        for group in self.param_groups:
            packed = {k: _plain(v) for k, v in group.items() if k != "params"}
            packed["params"] = list(range(index, index + len(group["params"])))
            index += len(group["params"])
            groups.append(packed)
        state = {
            int(i): {k: _plain(v) for k, v in s.items() if not k.startswith("_")}
            for i, s in dict.items(self.state)
        }
        return {"state": state, "param_groups": groups}

    #: Group entries that LR schedulers add (OneCycleLR, every scheduler's initial_lr): a
    #: checkpoint may carry them although this optimizer's groups do not have them yet
    _SCHEDULER_KEYS = ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum")

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`; checks it all before changing anything.

        Group count, group sizes, hyper-parameter names and values, and the names, kinds and
        shapes of the per-parameter state must match this optimizer's (an Adam state is refused
        by SGD); state arrays are copied to each parameter's device (floating ones cast to its
        dtype). Raises ValueError/TypeError naming the entry; nothing changes on an error.
        """
        self._prepare_load(state_dict)()

    def _prepare_load(self, state_dict: dict[str, Any]) -> Callable[[], None]:
        """Check ``state_dict`` completely; return a function that applies it (cannot fail)."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "state" not in state_dict \
                or "param_groups" not in state_dict:
            raise ValueError(
                f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups' "
                f"entries, got {V.describe(state_dict)}"
            )
        unknown = set(state_dict) - {"state", "param_groups"}
        if unknown:
            raise ValueError(
                f"{name}.load_state_dict: unexpected entries {sorted(map(str, unknown))}"
            )
        saved_groups, saved_states = state_dict["param_groups"], state_dict["state"]
        if not isinstance(saved_groups, (list, tuple)) or \
                not all(isinstance(g, dict) for g in saved_groups):
            raise TypeError(f"{name}.load_state_dict: 'param_groups' must be a list of dicts, "
                            f"got {V.describe(saved_groups)}")
        if not isinstance(saved_states, dict):
            raise TypeError(f"{name}.load_state_dict: 'state' must be a dict, got "
                            f"{V.describe(saved_states)}")
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has a different number of parameter groups: "
                f"{len(saved_groups)} saved, {len(self.param_groups)} in the optimizer"
            )
        index_to_param = {}
        new_index = {}  # saved index -> this optimizer's global index (the same when aligned)
        new_groups = []
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            where = f"param_groups[{i}]"
            ids = saved.get("params")
            if not isinstance(ids, (list, tuple)) or not all(V.is_int(j) for j in ids):
                raise TypeError(f"loaded {where}['params'] must be a list of parameter indices, "
                                f"got {V.describe(ids)}")
            if len(group["params"]) != len(ids):
                raise ValueError(
                    f"loaded state dict contains a parameter group that doesn't match the size "
                    f"of optimizer's group: group {i} has {len(ids)} saved params, "
                    f"{len(group['params'])} in the optimizer"
                )
            for j, p in zip(ids, group["params"], strict=True):
                if int(j) in index_to_param:
                    raise ValueError(f"loaded state dict lists parameter index {j} twice")
                index_to_param[int(j)] = p
                new_index[int(j)] = len(new_index)
            missing = [k for k in self.defaults if k not in saved]
            extra = [k for k in saved if k != "params" and k not in group
                     and k not in self.defaults and k not in self._SCHEDULER_KEYS]
            if missing or extra:
                raise ValueError(
                    f"loaded {where} does not hold {name}'s hyper-parameters (missing "
                    f"{missing}, unexpected {extra}): was the checkpoint written by another "
                    "optimizer?"
                )
            new_group = {k: _plain(v) for k, v in saved.items() if k != "params"}
            for key in self._SCHEDULER_KEYS:
                if key in new_group and key != "max_momentum" and key != "base_momentum":
                    V.number_in(f"{where}['{key}']", new_group[key], 0.0)
            self._validate_all(new_group)
            new_groups.append({"params": group["params"], **new_group})
        new_state = ParamState(self)
        for key, saved_state in saved_states.items():
            if not V.is_int(key) or int(key) not in index_to_param:
                raise ValueError(f"loaded state refers to parameter index {key!r}, which no "
                                 "saved param group lists")
            if not isinstance(saved_state, dict):
                raise TypeError(f"loaded state of parameter {key} must be a dict, got "
                                f"{V.describe(saved_state)}")
            p = index_to_param[int(key)]
            group = new_groups[self._group_of(p)]
            self._check_state_entry(int(key), saved_state, p, group)
            entry = {}
            for entry_name, value in saved_state.items():
                if isinstance(value, np.ndarray) or backend.is_cupy_array(value):
                    dtype = p.dtype if value.dtype.kind == "f" else value.dtype
                    entry[entry_name] = backend.asarray_on(value, p.device, dtype)
                else:
                    entry[entry_name] = _plain(value)
            dict.__setitem__(new_state, new_index[int(key)], entry)

        def commit() -> None:
            for group, new_group in zip(self.param_groups, new_groups, strict=True):
                group.clear()
                group.update(new_group)
            self.state = new_state

        return commit

    def _group_of(self, p: Tensor) -> int:
        for i, group in enumerate(self.param_groups):
            if any(q is p for q in group["params"]):
                return i
        raise KeyError("this tensor is not a parameter of the optimizer")

    def _check_state_entry(self, key: int, saved: dict, p: Tensor, group: dict) -> None:
        """The saved state of parameter ``key`` must have the names, kinds and shapes that one
        update of this rule (with ``group``'s options) creates."""
        reference: dict = {}
        probe = np.zeros(p.shape if p.numel() <= 4096 else (1,), dtype=p.dtype)
        try:
            self.update(probe.copy(), probe, reference, dict(group))
        except Exception:  # noqa: BLE001 - a rule that cannot run on a probe: check names only
            reference = {k: None for k in saved}
        expected = {k for k in reference if not k.startswith("_")}
        if set(saved) != expected:
            raise ValueError(
                f"loaded state of parameter {key} has entries {sorted(map(str, saved))}, but "
                f"{type(self).__name__} with this group's options keeps {sorted(expected)}"
            )
        for entry_name, value in saved.items():
            ref = reference[entry_name]
            where = f"loaded state '{entry_name}' of parameter {key}"
            is_array = isinstance(value, np.ndarray) or backend.is_cupy_array(value)
            ref_array = ref is not None and (isinstance(ref, np.ndarray))
            if ref_array and not is_array:
                raise TypeError(f"{where} must be an array, got {V.describe(value)}")
            if is_array:
                if ref is not None and not ref_array:
                    raise TypeError(f"{where} must be a number, got an array")
                if (self.param_shaped_state is None or entry_name in self.param_shaped_state) \
                        and tuple(value.shape) != tuple(p.shape):
                    raise ValueError(
                        f"{where} has shape {tuple(value.shape)}, but the parameter has shape "
                        f"{tuple(p.shape)}"
                    )
                if value.dtype.kind not in "fiub":
                    raise TypeError(f"{where} has dtype {value.dtype}, expected a numeric array")
            elif ref is not None and V.is_real(ref) and not V.is_real(value):
                raise TypeError(f"{where} must be a number, got {V.describe(value)}")
            elif V.is_real(value) and not math.isfinite(float(value)) and entry_name == "step":
                raise ValueError(f"{where} must be finite, got {value!r}")


# --- in-place building blocks shared by the update rules (PyTorch's rounding order) -----------
def lerp_(xp, a, b, w: float, tmp) -> None:
    """a ← a + w·(b − a) in place, with PyTorch's two-branch lerp formula."""
    xp.subtract(b, a, out=tmp)
    if abs(w) < 0.5:
        tmp *= w
        a += tmp
    else:
        tmp *= 1.0 - w
        xp.subtract(b, tmp, out=a)


def addcmul_(xp, a, b, c, value: float, tmp) -> None:
    """a ← a + value·b·c in place (``tmp`` is a scratch array; may not alias b or c)."""
    xp.multiply(b, value, out=tmp)
    tmp *= c
    a += tmp


def addcdiv_(xp, a, b, c, value: float, tmp) -> None:
    """a ← a + value·b/c in place (``tmp`` may alias b, never c)."""
    xp.multiply(b, value, out=tmp)
    tmp /= c
    a += tmp
