"""Module and Parameter, with PyTorch's registration, traversal and state_dict semantics.

A :class:`Module` registers every :class:`Parameter`, sub-``Module`` and buffer assigned to it as
an attribute, in insertion order, exactly as ``torch.nn.Module`` does; ``state_dict`` walks them
in the same order as PyTorch (own parameters, own buffers, then each child), so keys and order
match a PyTorch model with the same attribute names.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterable, Iterator, Mapping

import numpy as np

from .. import backend
from ..tensor import Tensor, _as_dtype, is_floating, no_grad
from ..utils.hooks import RemovableHandle
from .backward_hooks import call_with_backward_hooks


class Parameter(Tensor):
    """A Tensor that a Module registers as a learnable parameter (``requires_grad=True``).

    ``Parameter(tensor)`` shares the tensor's array, as ``torch.nn.Parameter`` shares storage;
    other data (lists, arrays) is copied into a new tensor first.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = Tensor._wrap(np.empty((0,), dtype=np.float32))
        elif not isinstance(data, Tensor):
            data = Tensor(data)
        self.array = data.array
        self._grad = None
        self._ctx = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


def _value_array(value):
    """The raw array of a state_dict value (Tensor, numpy or cupy array, numpy scalar), or None."""
    if isinstance(value, Tensor):
        return value.array
    if isinstance(value, (np.ndarray, np.generic)) or backend.is_cupy_array(value):
        return value
    return None


class Module:
    """Base class of every layer and model, as ``torch.nn.Module``.

    Subclasses call ``super().__init__()`` first, assign parameters, buffers and sub-modules
    as attributes, and define ``forward``; calling the module runs ``forward``.
    """

    training: bool

    def __init__(self) -> None:
        # object.__setattr__: our own __setattr__ needs these dicts to exist already
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks_with_kwargs", set())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks_with_kwargs", set())
        object.__setattr__(self, "_backward_hooks", OrderedDict())

    def forward(self, *args, **kwargs):
        """The computation; every subclass defines it."""
        raise NotImplementedError(
            f"Module [{type(self).__name__}] is missing the required 'forward' function"
        )

    def __call__(self, *args, **kwargs):
        d = self.__dict__
        if d.get("_forward_pre_hooks") or d.get("_forward_hooks") or d.get("_backward_hooks"):
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _run_forward(self, args: tuple, kwargs: dict):
        """``forward``, through the full backward hooks when there are any."""
        backward_hooks = self.__dict__.get("_backward_hooks")
        if backward_hooks:
            return call_with_backward_hooks(
                self, list(backward_hooks.values()), args,
                lambda *a: self.forward(*a, **kwargs),
            )
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args: tuple, kwargs: dict):
        """``forward`` between the pre-hooks and the hooks, with PyTorch's return conventions."""
        for key, hook in list(self._forward_pre_hooks.items()):
            if key in self._forward_pre_hooks_with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(
                            "forward pre-hook must return None or a tuple of (new_args, "
                            f"new_kwargs), but got {result!r}"
                        )
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        output = self._run_forward(args, kwargs)
        for key, hook in list(self._forward_hooks.items()):
            if key in self._forward_hooks_with_kwargs:
                result = hook(self, args, kwargs, output)
            else:
                result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_pre_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args)`` before each forward; a non-None result replaces the args.

        With ``with_kwargs=True`` the hook is ``hook(module, args, kwargs)`` and returns None or
        ``(args, kwargs)``. Returns a handle whose ``remove()`` unregisters the hook.
        """
        return self._add_hook(
            hook, self._forward_pre_hooks, self._forward_pre_hooks_with_kwargs, prepend, with_kwargs
        )

    def register_forward_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each forward; a non-None result replaces it.

        With ``with_kwargs=True`` the hook is ``hook(module, args, kwargs, output)``. Returns a
        handle whose ``remove()`` unregisters the hook.
        """
        return self._add_hook(
            hook, self._forward_hooks, self._forward_hooks_with_kwargs, prepend, with_kwargs
        )

    @staticmethod
    def _add_hook(hook, hooks: OrderedDict, kwarg_keys: set, prepend: bool, with_kwargs: bool):
        if not callable(hook):
            raise TypeError(f"hook must be callable, got {type(hook).__name__}")
        handle = RemovableHandle(hooks, kwarg_keys)
        hooks[handle.id] = hook
        if with_kwargs:
            kwarg_keys.add(handle.id)
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the gradients with respect to
        this module's tensor inputs are computed; a returned tuple replaces ``grad_input``.

        ``grad_input`` holds None for inputs that need no gradient. Returns a handle whose
        ``remove()`` unregisters the hook.
        """
        if not callable(hook):
            raise TypeError(f"hook must be callable, got {type(hook).__name__}")
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        return handle

    # --- registration -------------------------------------------------------------------------
    def _check_initialised(self, what: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call")

    @staticmethod
    def _check_name(name, kind: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f'{kind} name can\'t be empty or contain ".", got {name!r}')

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or None, a declared-but-absent parameter such as a disabled bias)."""
        self._check_initialised("parameters")
        self._check_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(nn.Parameter or None required)"
            )
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a buffer: non-parameter state (running stats); in state_dict if persistent."""
        self._check_initialised("buffers")
        self._check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' (Tensor or "
                "None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name``."""
        self._check_initialised("child modules")
        self._check_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            self._check_initialised("parameters")
            # forget the name everywhere else; an existing parameter keeps its place, as PyTorch
            self._discard(name, keep="_parameters")
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(nn.Parameter or None expected)"
                )
            params[name] = None
        elif isinstance(value, Module):
            self._check_initialised("child modules")
            self._discard(name, keep="_modules")  # a re-assigned child keeps its place
            self._modules[name] = value
        elif d.get("_modules") is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' "
                    "(nn.Module or None expected)"
                )
            d["_modules"][name] = None
        elif d.get("_buffers") is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' (Tensor or "
                    "None expected)"
                )
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def _discard(self, name: str, keep: str | None = None) -> None:
        """Forget ``name`` wherever it lives except in ``keep``, so it is registered once."""
        self.__dict__.pop(name, None)
        for store in ("_parameters", "_buffers", "_modules"):
            if store != keep:
                self.__dict__[store].pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __getattr__(self, name: str):
        # only called when normal lookup fails: parameters, buffers and children live in dicts
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for store in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(store, {}):
                del self.__dict__[store][name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = itertools.chain(super().__dir__(), self._parameters, self._buffers, self._modules)
        return sorted(set(keys))

    # --- traversal ----------------------------------------------------------------------------
    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ):
        """Yield ``(name, module)`` for this module and every descendant, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        """This module and every descendant, depth first."""
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Yield ``(name, child)`` for the direct children."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        """The direct children."""
        for _, module in self.named_children():
            yield module

    def _named_members(self, store: str, prefix: str, recurse: bool, remove_duplicate: bool = True):
        seen = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in module.__dict__[store].items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ):
        """Yield ``(dotted_name, parameter)``; a parameter shared by two modules appears once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter, in registration order (what an optimizer takes)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """Yield ``(dotted_name, buffer)``."""
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer (running statistics, ...)."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        """The descendant named by a dotted path (``"layer1.0.conv1"``); ``""`` is self."""
        module = self
        if target == "":
            return module
        for item in target.split("."):
            child = module._modules.get(item)
            if child is None:
                raise AttributeError(
                    f"{type(module).__name__} has no submodule named '{item}' (in '{target}')"
                )
            module = child
        return module

    # --- modes and gradients ------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and every descendant; returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode (``train(False)``): Dropout is off, BatchNorm uses running stats."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` on every parameter; returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: to None (default, as PyTorch), or to zeros."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.array[...] = 0

    # --- moves and casts ----------------------------------------------------------------------
    def to(self, *args, device=None, dtype=None, non_blocking: bool = False) -> Module:
        """Move parameters and buffers to ``device`` and/or cast floating ones to ``dtype``.

        In place: parameters stay the same objects (only their arrays change), so an optimizer built
        before the move keeps working. Returns self, as PyTorch.
        """
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif isinstance(arg, (str, int)) and not isinstance(arg, bool):
                device = arg  # a str or a tm.device (a str); an int is a CUDA ordinal
            else:
                dtype = arg
        if device is not None:
            device = backend.parse_device(device)
            backend.array_module_for(device)  # fail before moving anything if it is unusable
        if dtype is not None:
            dtype = _as_dtype(dtype)
            if not is_floating(dtype):
                raise TypeError(
                    "nn.Module.to only accepts floating point dtypes, but got desired "
                    f"dtype={dtype}"
                )

        def convert(t: Tensor) -> None:
            array = t.array
            if device is not None:
                array = backend.to_device(array, device)
            if dtype is not None and is_floating(array.dtype):
                array = array.astype(dtype, copy=False)
            t.array = array
            if t.grad is not None:
                t._grad = Tensor._wrap(_convert_like(t.grad.array, array))

        with no_grad():
            for t in itertools.chain(self.parameters(), self.buffers()):
                convert(t)
        return self

    def cpu(self) -> Module:
        """Move everything to the CPU."""
        return self.to("cpu")

    def cuda(self, device: int | str | None = None, non_blocking: bool = False) -> Module:
        """Move everything to a CUDA device."""
        if device is None:
            return self.to("cuda")
        return self.to(device if isinstance(device, str) else f"cuda:{device}")

    def float(self) -> Module:
        """Cast floating parameters and buffers to float32."""
        return self.to(dtype=np.float32)

    def double(self) -> Module:
        """Cast floating parameters and buffers to float64."""
        return self.to(dtype=np.float64)

    def half(self) -> Module:
        """Cast floating parameters and buffers to float16."""
        return self.to(dtype=np.float16)

    def share_memory(self) -> Module:
        """A no-op returning self: tensors are in this process's memory (no worker processes)."""
        return self

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every child (recursively), then on self; returns self (custom init)."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # --- state_dict ---------------------------------------------------------------------------
    def state_dict(
        self, destination=None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict:
        """An OrderedDict ``name -> Tensor`` of parameters and persistent buffers.

        The tensors are detached and share memory with the module, as in PyTorch: copy them
        (or save them) if the module will keep training.
        """
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def _state_targets(self) -> OrderedDict:
        """``name -> tensor`` for everything ``state_dict`` would hold (the live tensors)."""
        return self.state_dict(keep_vars=True)

    def load_state_dict(self, state_dict: Mapping, strict: bool = True):
        """Copy values from ``state_dict`` into the parameters and buffers, in place.

        Everything is checked before anything changes: missing and unexpected keys (under
        ``strict``), values that are not arrays, shape mismatches and dtype mismatches each
        add a line naming the key to one RuntimeError, and the module is left untouched.
        Returns ``(missing_keys, unexpected_keys)`` as PyTorch does.

        Unlike PyTorch, which casts silently, a dtype mismatch is an error: a float64
        checkpoint loaded into a float32 model usually means the wrong file.
        """
        commit, result = self._prepare_load(state_dict, strict)
        commit()
        return result

    def _prepare_load(self, state_dict: Mapping, strict: bool = True):
        """Check ``state_dict`` completely: (a function that applies it, the incompatible keys)."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}")
        targets = self._state_targets()
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        errors = []
        if strict:
            if unexpected:
                errors.append(
                    "Unexpected key(s) in state_dict: "
                    + ", ".join(f'"{k}"' for k in unexpected)
                    + "."
                )
            if missing:
                errors.append(
                    "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + "."
                )
        updates = []
        for key, target in targets.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            array = _value_array(value)
            if array is None:
                errors.append(
                    f'While copying the parameter named "{key}", expected a Tensor or an array '
                    f"from the checkpoint but received {type(value).__name__}"
                )
                continue
            if tuple(array.shape) != tuple(target.shape):
                errors.append(
                    f"size mismatch for {key}: copying a param with shape {tuple(array.shape)} "
                    "from "
                    f"checkpoint, the shape in current model is {tuple(target.shape)}."
                )
                continue
            if np.dtype(array.dtype) != target.dtype:
                errors.append(
                    f"dtype mismatch for {key}: copying a param with dtype {np.dtype(array.dtype)} "
                    f"from checkpoint, the dtype in current model is {target.dtype}."
                )
                continue
            try:
                # copy now (onto the target's device), assign later: a failure here changes nothing
                updates.append((target, backend.asarray_on(array, target.device, target.dtype)))
            except Exception as exc:  # e.g. CUDA unavailable for a cuda tensor in the dict
                errors.append(f"could not copy {key} to device {target.device}: {exc}")
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )

        def commit() -> None:
            with no_grad():
                for target, array in updates:
                    target.array[...] = array

        return commit, _IncompatibleKeys(missing, unexpected)

    # --- repr ---------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text between this module's parentheses in its repr; layers override it."""
        return ""

    def _tree_repr(self) -> str:
        lines = []
        extra = self.extra_repr()
        if extra:
            lines.extend(extra.split("\n"))
        for name, module in self._modules.items():
            child = "None" if module is None else _addindent(module._tree_repr(), 2)
            lines.append(f"({name}): {child}")
        main = type(self).__name__ + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def __repr__(self) -> str:
        """PyTorch's nested layout, plus a last line with the parameter counts."""
        total = sum(p.numel() for p in self.parameters())
        trainable = sum(p.numel() for p in self.parameters() if p.requires_grad)
        counts = f"Total parameters: {total:,}"
        if trainable != total:
            counts += f" (trainable: {trainable:,})"
        return self._tree_repr() + "\n" + counts


def _convert_like(grad_array, new_array):
    """A gradient array moved and cast to match its parameter's new array."""
    out = backend.to_device(grad_array, backend.device_of(new_array))
    return out.astype(new_array.dtype, copy=False)


# ----------------------------------------------------------------------------------------------
# Containers


class Sequential(Module):
    """Modules run in order: ``Sequential(Linear(4, 8), ReLU(), Linear(8, 2))``.

    Also accepts an OrderedDict of ``name -> module``; supports indexing, slicing, len, iteration.
    """

    def __init__(self, *args) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def _index(self, idx: int) -> int:
        n = len(self)
        if isinstance(idx, bool) or not isinstance(idx, (int, np.integer)):
            raise TypeError(
                f"Sequential indices must be integers or slices, not {type(idx).__name__}"
            )
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range for a Sequential of length {n}")
        return int(idx) % n

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[self._index(idx)]

    def __setitem__(self, idx: int, module: Module) -> None:
        key = list(self._modules.keys())[self._index(idx)]
        self.add_module(key, module)

    def __delitem__(self, idx) -> None:
        keys = list(self._modules.keys())
        for key in keys[idx] if isinstance(idx, slice) else [keys[self._index(idx)]]:
            del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        """Add a module at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input


class ModuleList(Module):
    """A list of modules whose parameters are registered (a plain list would hide them)."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _index(self, idx) -> int:
        n = len(self)
        if isinstance(idx, bool) or not isinstance(idx, (int, np.integer)):
            raise TypeError(
                f"ModuleList indices must be integers or slices, not {type(idx).__name__}"
            )
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range for a ModuleList of length {n}")
        return int(idx) % n

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return self._modules[str(self._index(idx))]

    def __setitem__(self, idx: int, module: Module) -> None:
        self.add_module(str(self._index(idx)), module)

    def __delitem__(self, idx) -> None:
        items = list(self._modules.values())
        if isinstance(idx, slice):
            del items[idx]
        else:
            del items[self._index(idx)]
        self._modules.clear()
        for i, module in enumerate(items):
            self.add_module(str(i), module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        """Add a module at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Add each module at the end; returns self."""
        if isinstance(modules, Module) and not isinstance(modules, (ModuleList, Sequential)):
            raise TypeError(
                "ModuleList.extend should be called with an iterable of modules, got a Module"
            )
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert a module before ``index``."""
        items = list(self._modules.values())
        items.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(items):
            self.add_module(str(i), m)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            "ModuleList has no forward: iterate over it in your own forward()"
        )


def _check_key(key, where: str) -> str:
    if not isinstance(key, str):
        raise TypeError(f"{where} keys must be strings, got {type(key).__name__}")
    return key


def _pairs(items, where: str):
    """(key, value) pairs from a mapping or an iterable of pairs, as PyTorch's update()."""
    if isinstance(items, Mapping):
        return list(items.items())
    pairs = []
    for i, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ValueError(
                f"{where}.update: element #{i} should be a (key, value) pair, got {item!r}"
            )
        pairs.append((item[0], item[1]))
    return pairs


class ModuleDict(Module):
    """An ordered dict of modules whose parameters are registered (``nn.ModuleDict``)."""

    def __init__(self, modules=None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(_check_key(key, "ModuleDict"), module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules) -> None:
        for key, module in _pairs(modules, "ModuleDict"):
            self[key] = module

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict has no forward: call its modules in your forward()")


class ParameterList(Module):
    """A list of Parameters registered on the module (``nn.ParameterList``); tensors that are
    not Parameters are wrapped in one, as PyTorch does."""

    def __init__(self, values=None) -> None:
        super().__init__()
        if values is not None:
            self.extend(values)

    def _index(self, idx) -> int:
        n = len(self)
        if isinstance(idx, bool) or not isinstance(idx, (int, np.integer)):
            raise TypeError(f"ParameterList indices must be integers, not {type(idx).__name__}")
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range for a ParameterList of length {n}")
        return int(idx) % n

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ParameterList(list(self._parameters.values())[idx])
        return self._parameters[str(self._index(idx))]

    def __setitem__(self, idx: int, param) -> None:
        self.register_parameter(str(self._index(idx)), _as_parameter(param, "ParameterList"))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def __iadd__(self, values) -> ParameterList:
        return self.extend(values)

    def append(self, value) -> ParameterList:
        self.register_parameter(str(len(self)), _as_parameter(value, "ParameterList"))
        return self

    def extend(self, values) -> ParameterList:
        for value in values:
            self.append(value)
        return self

    def extra_repr(self) -> str:
        return "\n".join(
            f"({i}): Parameter containing: [{p.dtype} of size {'x'.join(map(str, p.shape))}]"
            for i, p in enumerate(self)
        )

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ParameterList has no forward")


class ParameterDict(Module):
    """An ordered dict of Parameters registered on the module (``nn.ParameterDict``)."""

    def __init__(self, parameters=None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str):
        return self._parameters[key]

    def __setitem__(self, key: str, value) -> None:
        self.register_parameter(_check_key(key, "ParameterDict"),
                                _as_parameter(value, "ParameterDict"))

    def __delitem__(self, key: str) -> None:
        del self._parameters[key]

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[str]:
        return iter(self._parameters)

    def __contains__(self, key) -> bool:
        return key in self._parameters

    def keys(self):
        return self._parameters.keys()

    def items(self):
        return self._parameters.items()

    def values(self):
        return self._parameters.values()

    def update(self, parameters) -> None:
        for key, value in _pairs(parameters, "ParameterDict"):
            self[key] = value

    def extra_repr(self) -> str:
        return "\n".join(
            f"({k}): Parameter containing: [{p.dtype} of size {'x'.join(map(str, p.shape))}]"
            for k, p in self.items()
        )

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ParameterDict has no forward")


def _as_parameter(value, where: str) -> Parameter:
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value)
    raise TypeError(f"{where} holds Parameters or Tensors, got {type(value).__name__}")
