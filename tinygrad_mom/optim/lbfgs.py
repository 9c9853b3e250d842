"""L-BFGS with PyTorch's ``torch.optim.LBFGS`` algorithm, options and defaults."""

from __future__ import annotations

import math
from collections.abc import Callable

from .. import _validation as V
from ..backend import get_array_module
from ..tensor import Tensor, _bump_version, enable_grad
from .optimizer import Optimizer


def _cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None) -> float:
    """Minimiser of the cubic through (x1, f1, f'=g1) and (x2, f2, f'=g2), clipped to
    ``bounds`` (default: the interval between the points); the midpoint when the cubic has
    no real minimiser."""
    low, high = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    discriminant = d1 * d1 - g1 * g2
    if discriminant < 0:
        return (low + high) / 2
    d2 = math.sqrt(discriminant)
    if x1 <= x2:
        point = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        point = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(point, low), high)


def _strong_wolfe(evaluate, t: float, d, f: float, g, gtd: float, c1: float = 1e-4,
                  c2: float = 0.9, tolerance_change: float = 1e-9, max_ls: int = 25):
    """A step ``t`` along ``d`` satisfying the strong Wolfe conditions (Nocedal & Wright,
    Algorithms 3.5 and 3.6: bracketing, then zoom by safeguarded cubic interpolation).

    ``evaluate(t)`` returns (loss, flat gradient) at the point x + t·d. Returns
    (loss, gradient, t, evaluations).
    """
    xp = get_array_module(d)
    d_norm = float(xp.abs(d).max())
    f_new, g_new = evaluate(t)
    evals, ls_iter = 1, 0
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:  # strong Wolfe holds: accept t
            bracket, bracket_f, bracket_g, bracket_gtd = [t], [f_new], [g_new], [gtd_new]
            done = True
            break
        if gtd_new >= 0:  # the minimum lies behind: bracket it
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        # extrapolate: a cubic step between 1.01 t and 10 t
        t_next = _cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    else:  # no bracket within max_ls evaluations
        bracket, bracket_f, bracket_g, bracket_gtd = [0.0, t], [f, f_new], [g, g_new], [gtd,
                                                                                       gtd_new]

    # zoom: shrink the bracket until strong Wolfe holds
    insufficient_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_minimum(bracket[0], bracket_f[0], bracket_gtd[0],
                           bracket[1], bracket_f[1], bracket_gtd[1])
        # a point too close to an end makes no progress: move it inside by 10 % of the bracket
        top, bottom = max(bracket), min(bracket)
        margin = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < margin:
            if insufficient_progress or t >= top or t <= bottom:
                t = top - margin if abs(t - top) < abs(t - bottom) else bottom + margin
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high], bracket_g[high], bracket_gtd[high] = (
                t, f_new, g_new, gtd_new)
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low], bracket_g[low], bracket_gtd[low] = (
                t, f_new, g_new, gtd_new)
    return bracket_f[low], bracket_g[low], bracket[low], evals


class LBFGS(Optimizer):
    """Limited-memory BFGS (``torch.optim.LBFGS``): each ``step(closure)`` runs up to
    ``max_iter`` quasi-Newton iterations; ``closure`` re-evaluates the loss and its gradients.

    Per iteration, with g the flat gradient of all parameters, s = θₖ₊₁ − θₖ and
    y = gₖ₊₁ − gₖ kept for the last ``history_size`` iterations where yᵀs > 1e-10:

        d = −H·g by the two-loop recursion, H₀ = (yᵀs / yᵀy)·I (the first iteration: d = −g)
        t = lr (first iteration of all: min(1, 1/‖g‖₁)·lr), or a strong-Wolfe line search
        θ ← θ + t·d

    It stops when max|g| ≤ tolerance_grad, when the step or the loss changes by less than
    tolerance_change, or after ``max_eval`` closure evaluations (default max_iter·5/4).
    One parameter group only, as in PyTorch. ``step`` returns the first closure's loss.
    """

    param_shaped_state = ()  # its state holds flat vectors and histories, not per-parameter

    def __init__(self, params, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 history_size: int = 100, line_search_fn: str | None = None) -> None:
        if max_eval is None and V.is_int(max_iter):
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def _validate(self, h: dict) -> None:
        where = "LBFGS"
        if "lr" in h:
            V.number_in("lr", h["lr"], 0.0, where=where, label="learning rate")
        for name in ("max_iter", "max_eval", "history_size"):
            if name in h:
                V.int_at_least(name, h[name], 1, where=where)
        for name in ("tolerance_grad", "tolerance_change"):
            if name in h:
                V.number_in(name, h[name], 0.0, where=where)
        if "line_search_fn" in h and h["line_search_fn"] is not None:
            V.one_of("line_search_fn", h["line_search_fn"], ("strong_wolfe",), where=where)

    # --- flat views of all parameters and gradients ------------------------------------------
    def _flat_grad(self):
        parts = []
        for p in self._params:
            xp = get_array_module(p.array)
            g = p.grad.array if p.grad is not None else xp.zeros_like(p.array)
            parts.append(g.reshape(-1))
        return get_array_module(parts[0]).concatenate(parts)

    def _add(self, t: float, d) -> None:
        offset = 0
        for p in self._params:
            n = p.array.size
            p.array += (t * d[offset:offset + n]).reshape(p.shape).astype(p.dtype, copy=False)
            _bump_version(p.array)
            offset += n

    def _copy_params(self) -> list:
        return [p.array.copy() for p in self._params]

    def _set_params(self, arrays: list) -> None:
        for p, a in zip(self._params, arrays):
            p.array[...] = a
            _bump_version(p.array)

    def _evaluate(self, closure: Callable) -> float:
        with enable_grad():
            loss = closure()
        return float(loss.item() if isinstance(loss, Tensor) else loss)

    def step(self, closure: Callable | None = None):
        """Run up to ``max_iter`` iterations; ``closure`` is required."""
        if closure is None:
            raise RuntimeError("LBFGS.step needs a closure that re-evaluates the model and "
                               "returns the loss (call zero_grad and backward inside it)")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        history_size, line_search_fn = group["history_size"], group["line_search_fn"]
        # all of L-BFGS's state lives with the first parameter, as in PyTorch
        if 0 not in self.state:
            dict.__setitem__(self.state, 0, {})
        state = self.state[0]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss.item() if isinstance(orig_loss, Tensor) else orig_loss)
        evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        xp = get_array_module(flat_grad)
        if float(xp.abs(flat_grad).max()) <= tolerance_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps = state.get("old_dirs", []), state.get("old_stps", [])
        ro, h_diag = state.get("ro", []), state.get("H_diag", 1.0)
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro, h_diag = [], [], [], 1.0
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:  # keep the curvature pair only when it is positive enough
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                # two-loop recursion: d = −H g
                alphas = [0.0] * len(old_dirs)
                q = -flat_grad
                for i in range(len(old_dirs) - 1, -1, -1):
                    alphas[i] = float(old_stps[i] @ q) * ro[i]
                    q = q - alphas[i] * old_dirs[i]
                d = q * h_diag
                for i in range(len(old_dirs)):
                    beta = float(old_dirs[i] @ d) * ro[i]
                    d = d + old_stps[i] * (alphas[i] - beta)
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(xp.abs(flat_grad).sum())) * lr
            else:
                t = lr
            gtd = float(flat_grad @ d)
            if gtd > -tolerance_change:  # not a descent direction any more
                break

            if line_search_fn is not None:
                start = self._copy_params()

                def evaluate(step, start=start, d=d):
                    self._add(step, d)
                    value = self._evaluate(closure)
                    grad = self._flat_grad()
                    self._set_params(start)
                    return value, grad

                loss, flat_grad, t, ls_evals = _strong_wolfe(evaluate, t, d, loss, flat_grad,
                                                             gtd,
                                                             tolerance_change=tolerance_change)
                self._add(t, d)
                small_grad = float(xp.abs(flat_grad).max()) <= tolerance_grad
            else:
                self._add(t, d)
                ls_evals = 0
                small_grad = False
                if n_iter != max_iter:  # the next iteration needs the gradient here
                    loss = self._evaluate(closure)
                    flat_grad = self._flat_grad()
                    small_grad = float(xp.abs(flat_grad).max()) <= tolerance_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals

            if n_iter == max_iter or evals >= max_eval or small_grad:
                break
            if float(xp.abs(d * t).max()) <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss
