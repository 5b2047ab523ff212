r"""An exhaustive depth-1 or depth-2 policy tree on doubly robust scores (Athey & Wager 2021).

Given features ``X`` (n, p) and scores ``Gamma`` (n, k) — e.g. the cross-fitted AIPW scores
of :func:`causal.estimators.policy.dr_scores`, one column per arm — the tree maximises the
estimated policy value :math:`\sum_i \Gamma_i(\pi(x_i))` over every tree of the given depth
whose splits are ``x_j <= c`` at candidate thresholds ``c``, each leaf taking the arm with the
largest score sum among its units. This is the policy class and objective of Athey & Wager
(2021) and of the R package ``policytree`` (Sverdrup et al. 2020), whose exact search
visits every split of every feature.

The search here is vectorised over units and thresholds. Each feature's values are binned at
its candidate thresholds — every distinct value when there are at most
``max_splits_per_feature`` of them (the search is then exact, as ``policytree``'s), otherwise
that many quantiles (as ``policytree``'s ``split.step`` or rounding the features does). Then:

* depth 1: for each feature, the per-bin score sums (one ``bincount`` per arm), cumulated over
  the bins, give the left leaf's sums at every threshold; the right leaf's are the total minus
  them; the best split maximises ``max_a left_a + max_a right_a``;
* depth 2: for each pair of features ``(j, l)`` (``j == l`` too), the two-way table of score
  sums over (bin of ``x_j``, bin of ``x_l``), cumulated along both axes, gives for every root
  threshold ``s`` on ``j`` and child threshold ``r`` on ``l`` the sums of all four leaves at
  once, so the best child split on each side of every root split is an ``argmax`` over an
  array. The root split then takes the best child on each side over all ``l``.

The work is ``O(p^2 (n k + B^2 k))`` for ``B`` bins per feature, against about
``O(p^2 n^2 k)`` for the exact search over sorted units (Zhou, Athey & Wager 2023). At
``n = 100,000``, ``p = 10``, ``k = 4`` and ``B = 257`` a depth-2 fit takes 1.5 s of CPU (depth 1:
0.24 s; medians of three, one thread). Every leaf holds at least ``min_leaf`` units. A child
split whose two leaves take the same arm is removed (it changes nothing), so the tree printed by
:meth:`PolicyTree.rules` is as small as its decisions.

References
----------
S. Athey and S. Wager (2021), "Policy learning with observational data", *Econometrica* 89(1).
E. Sverdrup, A. Kanodia, Z. Zhou, S. Athey and S. Wager (2020), "policytree: Policy learning via
doubly robust empirical welfare maximization over trees", *Journal of Open Source Software*
5(50), 2232.
Z. Zhou, S. Athey and S. Wager (2023), "Offline multi-action policy learning: generalization and
optimization", *Operations Research* 71(1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from causal.errors import EstimationError
from causal.estimators.base import BaseEstimator

__all__ = ["PolicyTree", "score_matrix"]

#: Largest two-way table (bins of one feature x bins of another) the depth-2 search builds.
_MAX_CELLS = 1 << 22


def score_matrix(scores: Any, what: str = "scores") -> tuple[np.ndarray, pd.Index | None]:
    """The scores as a finite float ``(n, k)`` array, and their column labels (a DataFrame's)."""
    cols = scores.columns if isinstance(scores, pd.DataFrame) else None
    try:
        arr = scores.to_numpy(dtype=float) if cols is not None else np.asarray(scores, dtype=float)
    except (TypeError, ValueError):
        raise EstimationError(f"{what} must be numeric: one column of DR scores per arm, got "
                              f"{type(scores).__name__}") from None
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise EstimationError(f"{what} must be 2-d, one row per unit and one column per arm, got shape "
                              f"{arr.shape}")
    if not np.isfinite(arr).all():
        raise EstimationError(f"{what} have missing or infinite values; drop those units or fix the scores")
    return arr, cols


@dataclass(frozen=True)
class _Node:
    """A split ``x[feature] <= threshold`` (children ``left``, ``right``), or a leaf (``feature`` None)."""

    n: int
    action: int = -1
    feature: int | None = None
    threshold: float = 0.0
    left: _Node | None = None
    right: _Node | None = None


@dataclass(frozen=True)
class _Grid:
    """One feature's candidate thresholds: bin of each unit, and the threshold after each bin."""

    bins: np.ndarray       # (n,) int: the number of candidate cut values below x
    thresholds: np.ndarray  # (B - 1,) split ``x <= thresholds[s]`` puts bins 0..s left

    @property
    def size(self) -> int:
        return len(self.thresholds) + 1


def _grid(x: np.ndarray, most: int | None) -> _Grid:
    u = np.unique(x)
    if most is None or len(u) - 1 <= most:
        cuts = u[:-1]
    else:  # quantiles of the data (actual values), at most `most` of them, never the largest value
        q = np.quantile(x, np.arange(1, most + 1) / (most + 1), method="inverted_cdf")
        cuts = np.unique(q)
        cuts = cuts[cuts < u[-1]]
    nxt = u[np.searchsorted(u, cuts, side="right")]
    thr = cuts + (nxt - cuts) / 2
    thr = np.where(thr < nxt, thr, cuts)  # adjacent floats: the cut value itself separates them
    return _Grid(np.searchsorted(cuts, x, side="left").astype(np.int64), thr)


def _depth1(hist: np.ndarray, counts: np.ndarray, min_leaf: int) -> tuple[np.ndarray, np.ndarray]:
    """Value of the best split at each threshold of one feature, from per-bin sums ``(B, k)``.

    Returns the values ``(B - 1,)`` (``-inf`` where a leaf is too small) and left leaf sizes.
    """
    left = np.cumsum(hist, axis=0)[:-1]
    nl = np.cumsum(counts)[:-1]
    total, n = hist.sum(axis=0), counts.sum()
    value = left.max(axis=1) + (total - left).max(axis=1)
    ok = (nl >= min_leaf) & (n - nl >= min_leaf)
    return np.where(ok, value, -np.inf), nl


class PolicyTree(BaseEstimator):
    """The exhaustive depth-1 or depth-2 policy tree on doubly robust scores (see the module docstring).

    Parameters
    ----------
    depth : {1, 2}
        Levels of splits: 1 gives at most two leaves, 2 at most four.
    min_leaf : int
        Fewest units in a leaf (default 1, as ``policytree``'s ``min.node.size``).
    max_splits_per_feature : int or None
        Candidate thresholds per feature: every distinct value when a feature has at most this many
        (the search is then exact), else this many quantiles of it. ``None`` always takes every
        distinct value (exact; the depth-2 table of two continuous features at large ``n`` is then
        too big and raises).

    Attributes
    ----------
    tree_ : the fitted tree (read it with :meth:`rules`)
    actions_ : ndarray
        The arms (the score columns' labels, or positions ``0..k-1`` for an array).
    feature_names_in_ : list of str
        Column names of ``X`` (``x0, x1, ...`` for an array).
    value_ : float
        Mean score of the tree's arms on the training units — an in-sample value, optimistic; use
        :func:`~causal.estimators.policy.policy_value` on held-out scores for an honest one.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"age": rng.uniform(20, 70, 500), "income": rng.uniform(0, 1, 500)})
    >>> gain = np.where(X["age"] > 40, 1.0, -1.0)            # treating pays only above 40
    >>> scores = pd.DataFrame({"none": np.zeros(500), "treat": gain + rng.normal(0, 0.1, 500)})
    >>> tree = PolicyTree(depth=1).fit(X, scores)
    >>> print(tree.rules())                                  # doctest: +ELLIPSIS
    if age <= 40...:
        none  (n=...)
    else:
        treat  (n=...)
    """

    def __init__(self, depth: int = 2, min_leaf: int = 1, max_splits_per_feature: int | None = 256) -> None:
        self.depth = depth
        self.min_leaf = min_leaf
        self.max_splits_per_feature = max_splits_per_feature

    # ------------------------------------------------------------------ validation
    def _settings(self, n: int) -> tuple[int, int, int | None]:
        name = "PolicyTree"
        d = self.depth
        if isinstance(d, bool) or d not in (1, 2):
            raise EstimationError(f"{name}: depth must be 1 or 2 (an exhaustive search deeper than 2 is "
                                  f"exponential), got {d!r}")
        m = self.min_leaf
        if isinstance(m, bool) or not isinstance(m, int | np.integer) or m < 1:
            raise EstimationError(f"{name}: min_leaf must be an integer >= 1, got {m!r}")
        if 2 * m > n:
            raise EstimationError(f"{name}: min_leaf={m} leaves no split of {n} units (two leaves need "
                                  f"2 x {m}); lower min_leaf or give more units")
        s = self.max_splits_per_feature
        if s is not None and (isinstance(s, bool) or not isinstance(s, int | np.integer) or s < 1):
            raise EstimationError(f"{name}: max_splits_per_feature must be None or an integer >= 1, "
                                  f"got {s!r}")
        return int(d), int(m), (None if s is None else int(s))

    def _features(self, X: Any, fitting: bool) -> np.ndarray:
        name = "PolicyTree"
        if isinstance(X, pd.DataFrame):
            if fitting:
                names = [str(c) for c in X.columns]
                if len(set(names)) != len(names):
                    raise EstimationError(f"{name}: X has duplicate column names")
            else:
                missing = [c for c in self.feature_names_in_ if c not in X.columns.astype(str)]
                if not missing:
                    X = X.set_axis(X.columns.astype(str), axis=1)[self.feature_names_in_]
                elif X.shape[1] != len(self.feature_names_in_):
                    raise EstimationError(f"{name}: X lacks the columns {missing} the tree was fitted on")
            bad = [str(c) for c, dt in X.dtypes.items()
                   if not (pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt))]
            if bad:
                raise EstimationError(f"{name}: columns {bad} are not numeric; encode them first")
            try:
                arr = X.to_numpy(dtype=float)
            except (TypeError, ValueError):
                raise EstimationError(f"{name}: X has values that are not numbers (e.g. pd.NA)") from None
            if fitting:
                self.feature_names_in_ = names
        else:
            try:
                arr = np.asarray(X, dtype=float)
            except (TypeError, ValueError):
                raise EstimationError(f"{name}: X must be a numeric DataFrame or (n, p) array") from None
            if fitting and arr.ndim == 2:
                self.feature_names_in_ = [f"x{j}" for j in range(arr.shape[1])]
        if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
            raise EstimationError(f"{name}: X must be 2-d with at least one row and one feature, got "
                                  f"shape {arr.shape}")
        if not fitting and arr.shape[1] != len(self.feature_names_in_):
            raise EstimationError(f"{name}: X has {arr.shape[1]} features; the tree was fitted on "
                                  f"{len(self.feature_names_in_)} ({', '.join(self.feature_names_in_)})")
        if not np.isfinite(arr).all():
            raise EstimationError(f"{name}: X has missing or infinite values; drop or impute them first")
        return arr

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, scores: Any) -> PolicyTree:
        """Find the tree maximising the sum of the chosen arms' scores; return ``self``.

        Parameters
        ----------
        X : DataFrame or array (n, p)
            The features the policy may use (numeric; encode categories first).
        scores : DataFrame or array (n, k)
            One column per arm, e.g. :func:`~causal.estimators.policy.dr_scores`.

        Raises
        ------
        EstimationError
            ``depth`` not 1 or 2, ``min_leaf`` too large for ``n``, rows of ``X`` and ``scores``
            differ, missing values, or a two-way table too large (``max_splits_per_feature=None``
            with many distinct values).
        """
        S, cols = score_matrix(scores, "PolicyTree: scores")
        Xa = self._features(X, fitting=True)
        if len(Xa) != len(S):
            raise EstimationError(f"PolicyTree: X has {len(Xa)} rows but scores {len(S)}; give one row of "
                                  "scores per unit of X")
        depth, min_leaf, most = self._settings(len(Xa))
        grids = [_grid(Xa[:, j], most) for j in range(Xa.shape[1])]
        S = np.ascontiguousarray(S)
        if depth == 1:
            root = self._search1(grids, S, min_leaf)
        else:
            big = max(g.size for g in grids) ** 2
            if big > _MAX_CELLS:
                raise EstimationError(f"PolicyTree: a feature has {max(g.size for g in grids) - 1} candidate "
                                      f"thresholds, too many for the depth-2 search; set "
                                      f"max_splits_per_feature (e.g. 256)")
            root = self._search2(grids, S, min_leaf)
        self.tree_ = _prune(root)
        self.actions_ = np.asarray(cols) if cols is not None else np.arange(S.shape[1])
        self.n_features_in_ = Xa.shape[1]
        codes = self._route(Xa)
        self.value_ = float(S[np.arange(len(S)), codes].mean())
        self.fitted_ = True
        return self

    @staticmethod
    def _leaf(S: np.ndarray, rows: np.ndarray | None = None) -> _Node:
        sums = S.sum(axis=0) if rows is None else S[rows].sum(axis=0)
        return _Node(n=len(S) if rows is None else int(rows.sum()), action=int(sums.argmax()))

    def _split(self, S: np.ndarray, grids: list[_Grid], rows: np.ndarray, j: int, s: int,
               inner: tuple[tuple[int, int] | None, tuple[int, int] | None] = (None, None)) -> _Node:
        """The node splitting ``rows`` at threshold ``s`` of feature ``j`` (children split per ``inner``)."""
        go_left = grids[j].bins <= s
        kids = []
        for side, child in zip((rows & go_left, rows & ~go_left), inner, strict=True):
            kids.append(self._leaf(S, side) if child is None else self._split(S, grids, side, *child))
        return _Node(n=int(rows.sum()), feature=j, threshold=float(grids[j].thresholds[s]),
                     left=kids[0], right=kids[1])

    def _search1(self, grids: list[_Grid], S: np.ndarray, min_leaf: int) -> _Node:
        n, k = S.shape
        best, where = -np.inf, None
        for j, g in enumerate(grids):
            if g.size < 2:
                continue
            hist = np.column_stack([np.bincount(g.bins, weights=S[:, a], minlength=g.size) for a in range(k)])
            value, _ = _depth1(hist, np.bincount(g.bins, minlength=g.size), min_leaf)
            s = int(value.argmax())
            if value[s] > best:
                best, where = float(value[s]), (j, s)
        everyone = np.ones(n, dtype=bool)
        return self._leaf(S) if where is None else self._split(S, grids, everyone, *where)

    def _search2(self, grids: list[_Grid], S: np.ndarray, min_leaf: int) -> _Node:
        n, k = S.shape
        total = S.sum(axis=0)
        best, where = -np.inf, None
        ws = _Workspace(k, max(g.size for g in grids))
        for j, gj in enumerate(grids):
            if gj.size < 2:
                continue
            bj = gj.size
            nl_root = np.cumsum(np.bincount(gj.bins, minlength=bj))[:-1]
            root_ok = (nl_root >= min_leaf) & (n - nl_root >= min_leaf)
            if not root_ok.any():
                continue
            # the best child on each side of every root threshold, over child features l
            best_l = np.full(bj - 1, -np.inf)
            best_r = np.full(bj - 1, -np.inf)
            arg_l: list[Any] = [None] * (bj - 1)
            arg_r: list[Any] = [None] * (bj - 1)
            for l_, gl in enumerate(grids):
                vl, il, vr, ir = _children(gj, gl, S, total, min_leaf, ws)
                for vals, idx, bestv, arg in ((vl, il, best_l, arg_l), (vr, ir, best_r, arg_r)):
                    better = np.flatnonzero(vals > bestv)
                    bestv[better] = vals[better]
                    for s in better.tolist():
                        arg[s] = None if idx[s] < 0 else (l_, int(idx[s]))
            value = np.where(root_ok, best_l + best_r, -np.inf)
            s = int(value.argmax())
            if value[s] > best:
                best, where = float(value[s]), (j, s, (arg_l[s], arg_r[s]))
        if where is None:
            return self._search1(grids, S, min_leaf)
        return self._split(S, grids, np.ones(n, dtype=bool), *where)

    # ------------------------------------------------------------------ predict and read
    def _route(self, Xa: np.ndarray) -> np.ndarray:
        out = np.empty(len(Xa), dtype=np.int64)

        def walk(node: _Node, rows: np.ndarray) -> None:
            if node.feature is None:
                out[rows] = node.action
                return
            left = Xa[rows, node.feature] <= node.threshold
            walk(node.left, rows[left])
            walk(node.right, rows[~left])

        walk(self.tree_, np.arange(len(Xa)))
        return out

    def predict(self, X: Any) -> np.ndarray:
        """The arm of each row of ``X`` (a DataFrame with the fitted columns, or an array in their order)."""
        self._check_fitted()
        return self.actions_[self._route(self._features(X, fitting=False))]

    def __call__(self, X: Any) -> np.ndarray:
        """:meth:`predict`, so that a fitted tree is itself a policy (e.g. for ``Truth.policy_value``)."""
        return self.predict(X)

    def rules(self) -> str:
        """The fitted tree as nested ``if``/``else`` text, each leaf with its arm and training units."""
        self._check_fitted()
        lines: list[str] = []

        def show(node: _Node, indent: str) -> None:
            if node.feature is None:
                lines.append(f"{indent}{self.actions_[node.action]}  (n={node.n})")
                return
            lines.append(f"{indent}if {self.feature_names_in_[node.feature]} <= {node.threshold:.6g}:")
            show(node.left, indent + "    ")
            lines.append(f"{indent}else:")
            show(node.right, indent + "    ")

        show(self.tree_, "")
        return "\n".join(lines)

    def __repr__(self) -> str:
        head = super().__repr__()
        return head if not getattr(self, "fitted_", False) else f"{head}\n{self.rules()}"


class _Workspace:
    """Flat buffers reused by every feature pair of the depth-2 search (no large temporaries per pair)."""

    def __init__(self, k: int, most: int) -> None:
        self.k = k
        self.sums = np.empty(k * most * most)
        self.diff = np.empty(k * most * most)
        self.value = np.empty(most * most)
        self.other = np.empty(most * most)

    def view(self, buf: np.ndarray, *shape: int) -> np.ndarray:
        return buf[:int(np.prod(shape))].reshape(shape)


def _children(gj: _Grid, gl: _Grid, S: np.ndarray, total: np.ndarray, min_leaf: int,
              ws: _Workspace) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For every root threshold ``s`` on feature ``j``, the best split on feature ``l`` of each side.

    Returns ``(value_left, r_left, value_right, r_right)``: the best value of the left (right)
    child, with the best arm per leaf, and the child threshold ``r`` achieving it (``-1``: the
    child stays a leaf, also the value when no split of it keeps ``min_leaf`` units a side).
    Arrays are laid out arms first, ``(k, bins_j, bins_l)``, so that the best arm of every cell
    is an elementwise maximum of ``k`` contiguous planes.
    """
    n, k = S.shape
    bj, bl = gj.size, gl.size
    cell = gj.bins * bl + gl.bins
    LL = ws.view(ws.sums, k, bj, bl)
    for a in range(k):
        LL[a] = np.bincount(cell, weights=S[:, a], minlength=bj * bl).reshape(bj, bl)
    cnt = np.bincount(cell, minlength=bj * bl).reshape(bj, bl)
    A = np.cumsum(LL.sum(axis=1), axis=1)                      # (k, bl): x_l <= r, any x_j
    np.cumsum(LL, axis=1, out=LL)
    np.cumsum(LL, axis=2, out=LL)                              # x_j <= s and x_l <= r
    NL = np.cumsum(np.cumsum(cnt, axis=0), axis=1)[:-1]
    NA = np.cumsum(cnt.sum(axis=0))
    first = LL[:, :-1, :-1]                                    # (k, bj-1, bl-1)
    Lt, NLt = LL[:, :-1, -1], NL[:, -1]                        # the left child's totals (k, bj-1)
    Rt, NRt = total[:, None] - Lt, n - NLt
    value, other = ws.view(ws.value, bj - 1, bl - 1), ws.view(ws.other, bj - 1, bl - 1)
    diff = ws.view(ws.diff, k, bj - 1, bl - 1)
    out = []
    for side in ("left", "right"):
        if side == "left":
            np.max(first, axis=0, out=value)
            np.subtract(Lt[:, :, None], first, out=diff)       # the child's other leaf
            nfirst, tot, ntot = NL[:, :-1], Lt, NLt
        else:
            np.subtract(A[:, None, :-1], first, out=diff)      # x_j > s and x_l <= r
            np.max(diff, axis=0, out=value)
            np.subtract(Rt[:, :, None], diff, out=diff)        # x_j > s and x_l > r
            nfirst, tot, ntot = NA[None, :-1] - NL[:, :-1], Rt, NRt
        np.max(diff, axis=0, out=other)
        value += other
        value[(nfirst < min_leaf) | (ntot[:, None] - nfirst < min_leaf)] = -np.inf
        if bl > 1:
            r = value.argmax(axis=1)
            v = value[np.arange(len(r)), r]
        else:
            r, v = np.full(len(ntot), -1), np.full(len(ntot), -np.inf)
        stay = tot.max(axis=0)
        split = v > stay
        out += [np.where(split, v, stay), np.where(split, r, -1)]
    return out[0], out[1], out[2], out[3]


def _prune(node: _Node) -> _Node:
    """Remove splits whose two leaves take the same arm (bottom-up)."""
    if node.feature is None:
        return node
    left, right = _prune(node.left), _prune(node.right)
    if left.feature is None and right.feature is None and left.action == right.action:
        return _Node(n=node.n, action=left.action)
    return _Node(n=node.n, feature=node.feature, threshold=node.threshold, left=left, right=right)
