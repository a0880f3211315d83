#!/usr/bin/env python3
"""Train the scoreflow product recommender (implicit ALS) and export it to ONNX with top-k inside.

Input (see README.md): an interactions CSV ``customer_id,product_id,occurred_at[,quantity]`` with
``occurred_at`` in ISO 8601 or Unix seconds, and optionally a products CSV with at least
``product_id,active``.

1. Split by time: everything before ``cut = last day - holdout weeks`` trains, the rest is held out.
2. History of a customer as of a time T: for every product, the sum over their purchases of
   ``0.5 ** (age_days / half_life_days)`` (quantity is ignored: three socks are one preference).
3. Fit ``implicit.als.AlternatingLeastSquares`` on the training histories (confidence = alpha * history).
4. Export a graph that folds ANY history in (no per-customer vector is kept):
       user   = ((alpha * history) @ Y) @ G    Y = item factors [n_items, factors]
                                                G = (Y^T Y + reg I)^-1, a constant [factors, factors]
       scores = user @ Y^T
       scores = -inf where history > 0 or not active
       items, scores = TopK(scores, k)
   That is the least-squares fold-in of ALS without the per-customer confidence term in the Gram
   matrix, so it is two matrix products (on the validation split it also ranked better than the
   exact per-customer solve); the held-out figures are measured by running this very graph.
5. Evaluate recall@k, NDCG@k, MAP@k and catalogue coverage of the exported graph and of a
   time-aware popularity baseline (purchases of each product in the last N weeks before the cut),
   on customers with a purchase before the cut and a new active product after it; and, apart, on
   customers with none before the cut, from their first day's purchases after it.
6. Write product-recs.onnx, item-index.json, model-card.json and golden.json.

Run:  python train.py --interactions DIR/interactions.csv --products DIR/products.csv
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from datetime import datetime, timezone

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit runs its own threads

import numpy as np
import pandas as pd
import scipy.sparse as sp
from implicit.als import AlternatingLeastSquares

import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
DAY_S = 86_400


def parse_args() -> argparse.Namespace:
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--interactions", required=True)
    a.add_argument("--products", help="products CSV with product_id and active (optional)")
    a.add_argument("--out", default=HERE)
    a.add_argument("--version", default="1.0.0")
    a.add_argument("--data-name", help="what the interactions are, for the card (default: the file name)")
    a.add_argument("--k", type=int, default=5)
    a.add_argument("--holdout-weeks", type=int, default=4)
    a.add_argument("--popularity-weeks", type=int, default=4)
    a.add_argument("--half-life-days", type=float, default=30.0)
    a.add_argument("--factors", type=int, default=64)
    a.add_argument("--regularization", type=float, default=20.0)
    a.add_argument("--alpha", type=float, default=80.0)
    a.add_argument("--iterations", type=int, default=15)
    a.add_argument("--seed", type=int, default=42)
    a.add_argument("--threads", type=int, default=0)
    a.add_argument("--no-export", action="store_true", help="evaluate only (for tuning)")
    return a.parse_args()


def to_unix_seconds(col: pd.Series) -> np.ndarray:
    """ISO 8601 (any offset) or Unix seconds to int64 Unix seconds."""
    numeric = pd.to_numeric(col, errors="coerce")
    if numeric.notna().all():
        return numeric.to_numpy(dtype=np.float64).astype(np.int64)
    ts = pd.to_datetime(col, utc=True, format="ISO8601")
    return (ts - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)


def load(args: argparse.Namespace):
    df = pd.read_csv(args.interactions, dtype={"customer_id": str, "product_id": str, "occurred_at": str})
    missing = {"customer_id", "product_id", "occurred_at"} - set(df.columns)
    if missing:
        raise SystemExit(f"{args.interactions} lacks column(s) {sorted(missing)}")
    t = np.asarray(to_unix_seconds(df["occurred_at"]), dtype=np.int64)
    active: dict[str, bool] = {}
    if args.products:
        pr = pd.read_csv(args.products, dtype={"product_id": str, "active": str})
        flags = pr["active"].str.lower().isin(["true", "t", "1", "yes"]) if "active" in pr else pd.Series(True, index=pr.index)
        active = dict(zip(pr["product_id"], flags))
    ids = sorted(set(df["product_id"]) | set(active), key=lambda s: (len(s), s) if s.isdigit() else (1 << 30, s))
    item_of = {pid: i for i, pid in enumerate(ids)}
    items = df["product_id"].map(item_of).to_numpy(np.int64)
    customers, users = np.unique(df["customer_id"].to_numpy(), return_inverse=True)
    active_mask = np.array([active.get(pid, True) for pid in ids], dtype=bool)
    return ids, active_mask, customers, users.astype(np.int64), items, t


def history_matrix(users, items, t, as_of, half_life_days, n_users, n_items) -> sp.csr_matrix:
    """Recency-weighted purchase counts as of `as_of` (purchases at or after it are ignored)."""
    keep = t < as_of
    w = np.power(0.5, (as_of - t[keep]) / DAY_S / half_life_days).astype(np.float32)
    m = sp.csr_matrix((w, (users[keep], items[keep])), shape=(n_users, n_items), dtype=np.float32)
    m.sum_duplicates()
    return m


def fold_in_matrix(Y: np.ndarray, reg: float) -> np.ndarray:
    """G = (Y^T Y + reg I)^-1: the ALS least-squares fold-in of a history, without its confidence term."""
    f = Y.shape[1]
    return np.linalg.inv(Y.T @ Y + reg * np.eye(f, dtype=np.float64)).astype(np.float32)


def build_graph(G: np.ndarray, Y: np.ndarray, alpha: float, k: int, version: str) -> onnx.ModelProto:
    n, f = Y.shape
    inits = [
        numpy_helper.from_array(Y.astype(np.float32), "item_factors"),
        numpy_helper.from_array(G.astype(np.float32), "fold_in"),
        numpy_helper.from_array(np.array(alpha, dtype=np.float32), "alpha"),
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
        numpy_helper.from_array(np.array(-np.inf, dtype=np.float32), "minus_inf"),
        numpy_helper.from_array(np.array([k], dtype=np.int64), "k"),
    ]
    nodes = [
        helper.make_node("Mul", ["history", "alpha"], ["confidence"]),
        helper.make_node("MatMul", ["confidence", "item_factors"], ["projected"]),
        helper.make_node("MatMul", ["projected", "fold_in"], ["user"]),
        helper.make_node("Gemm", ["user", "item_factors"], ["raw_scores"], transB=1),
        helper.make_node("Greater", ["history", "zero"], ["purchased"]),
        helper.make_node("Not", ["active"], ["inactive"]),
        helper.make_node("Or", ["purchased", "inactive"], ["excluded"]),
        helper.make_node("Where", ["excluded", "minus_inf", "raw_scores"], ["eligible_scores"]),
        helper.make_node("TopK", ["eligible_scores", "k"], ["scores", "items"], axis=-1, largest=1, sorted=1),
    ]
    graph = helper.make_graph(
        nodes,
        "product_recs",
        [
            helper.make_tensor_value_info("history", TensorProto.FLOAT, ["batch", n]),
            helper.make_tensor_value_info("active", TensorProto.BOOL, [n]),
        ],
        [
            helper.make_tensor_value_info("items", TensorProto.INT64, ["batch", k]),
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", k]),
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="scoreflow-product-recs")
    model.model_version = int(version.split(".")[0])
    model.doc_string = f"product-recs {version}: ALS fold-in of a recency-weighted purchase history, top-{k} eligible items"
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def metrics(recs: np.ndarray, relevant: list[np.ndarray], k: int, n_active: int) -> dict:
    recall = ndcg = ap = 0.0
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    for row, rel in zip(recs, relevant):
        hit = np.isin(row, rel)
        recall += hit.sum() / len(rel)
        ndcg += (hit * discounts).sum() / discounts[: min(len(rel), k)].sum()
        precision_at = np.cumsum(hit) / np.arange(1, k + 1)
        ap += (precision_at * hit).sum() / min(len(rel), k)
    n = len(relevant)
    return {
        f"recall@{k}": round(float(recall / n), 4),
        f"ndcg@{k}": round(float(ndcg / n), 4),
        f"map@{k}": round(float(ap / n), 4),
        "coverage": round(len(np.unique(recs)) / n_active, 4),
    }


def main() -> None:
    args = parse_args()
    started = time.time()
    ids, active, customers, users, items, t = load(args)
    n_users, n_items = len(customers), len(ids)
    last_day = (int(t.max()) // DAY_S + 1) * DAY_S
    cut = last_day - args.holdout_weeks * 7 * DAY_S
    print(f"{len(t)} purchases, {n_users} buying customers, {n_items} products ({int((~active).sum())} inactive)")
    print(f"train before {datetime.fromtimestamp(cut, timezone.utc):%Y-%m-%d}, hold out {args.holdout_weeks} weeks")

    train = history_matrix(users, items, t, cut, args.half_life_days, n_users, n_items)
    t0 = time.time()
    als = AlternatingLeastSquares(
        factors=args.factors, regularization=args.regularization, alpha=args.alpha,
        iterations=args.iterations, random_state=args.seed, num_threads=args.threads,
    )
    als.fit(train, show_progress=False)
    fit_seconds = time.time() - t0
    Y = np.asarray(als.item_factors, dtype=np.float64)
    G = fold_in_matrix(Y, args.regularization)
    model = build_graph(G, Y, args.alpha, args.k, args.version)
    print(f"ALS fit in {fit_seconds:.1f}s")

    # Held-out customers: a purchase before the cut and a new, active product after it.
    test = (t >= cut)
    train_bool = train.astype(bool).tocsr()
    rel_pairs = pd.DataFrame({"u": users[test], "i": items[test]}).drop_duplicates()
    rel_pairs = rel_pairs[active[rel_pairs["i"].to_numpy()]]
    seen = np.asarray(train_bool[rel_pairs["u"].to_numpy(), rel_pairs["i"].to_numpy()]).ravel()
    rel_pairs = rel_pairs[~seen]
    warm = np.diff(train_bool.indptr) > 0
    rel_pairs = rel_pairs[warm[rel_pairs["u"].to_numpy()]]
    grouped = rel_pairs.groupby("u")["i"].apply(np.array)
    eval_users = grouped.index.to_numpy()
    relevant = list(grouped.values)
    cold_with_test = len(np.setdiff1d(np.unique(users[test]), np.flatnonzero(warm)))
    print(f"evaluating {len(eval_users)} customers (+{cold_with_test} buying after the cut with no history: popularity)")

    import onnxruntime as ort
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    model_recs = []
    t0 = time.time()
    for s in range(0, len(eval_users), 1000):
        h = train[eval_users[s : s + 1000]].toarray()
        model_recs.append(session.run(["items"], {"history": h, "active": active})[0])
    score_seconds = time.time() - t0
    model_recs = np.vstack(model_recs)

    pop_from = cut - args.popularity_weeks * 7 * DAY_S
    window = (t >= pop_from) & (t < cut)
    pop_counts = np.bincount(items[window], minlength=n_items).astype(np.float64)
    pop_counts += 1e-9 * np.bincount(items[t < cut], minlength=n_items)
    pop_scores = np.where(active, pop_counts, -np.inf)
    pop_recs = []
    for s in range(0, len(eval_users), 1000):
        h = train_bool[eval_users[s : s + 1000]].toarray()
        pop_recs.append(top_k(np.where(h, -np.inf, pop_scores[None, :]), args.k))
    pop_recs = np.vstack(pop_recs)

    n_active = int(active.sum())
    m_model = metrics(model_recs, relevant, args.k, n_active)
    m_pop = metrics(pop_recs, relevant, args.k, n_active)
    new_customers = evaluate_new_customers(session, users, items, t, cut, warm, active, pop_scores, args)
    lift = m_model[f"ndcg@{args.k}"] / m_pop[f"ndcg@{args.k}"] - 1
    print(f"model      {m_model}")
    print(f"popularity {m_pop}")
    print(f"NDCG@{args.k} lift over popularity: {lift:+.1%}; graph scored {len(eval_users)} customers in {score_seconds:.1f}s")
    print(f"customers with no purchase before the cut, history = their first day: {new_customers}")
    if args.no_export:
        return
    export(args, model, ids, active, train, eval_users, {
        "model": m_model, "popularity": m_pop, "ndcg_lift": round(lift, 4),
        "customers_evaluated": int(len(eval_users)),
        "new_customers": new_customers, "purchases": int(len(t)), "buying_customers": int(n_users),
        "cut": datetime.fromtimestamp(cut, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "holdout_weeks": args.holdout_weeks, "popularity_weeks": args.popularity_weeks,
        "fit_seconds": round(fit_seconds, 1), "total_seconds": round(time.time() - started, 1),
    }, session, popularity_order=np.argsort(-pop_scores, kind="stable"))


def evaluate_new_customers(session, users, items, t, cut, warm, active, pop_scores, args) -> dict:
    """Customers with no purchase before the cut, scored from their first day's purchases after it
    (history as of the next day), against what they bought later: the fold-in serving customers the
    model never saw."""
    df = pd.DataFrame({"u": users, "i": items, "t": t})
    df = df[(df["t"] >= cut) & ~warm[df["u"].to_numpy()]]
    as_of = df.groupby("u")["t"].transform("min") + DAY_S
    hist = df[df["t"] < as_of]
    later = df[(df["t"] >= as_of) & active[df["i"].to_numpy()]]
    later = later[~later.set_index(["u", "i"]).index.isin(hist.set_index(["u", "i"]).index)]
    relevant = later.drop_duplicates(["u", "i"]).groupby("u")["i"].apply(np.array)
    if len(relevant) == 0:
        return {"customers_evaluated": 0}
    order = {u: r for r, u in enumerate(relevant.index)}
    hist = hist[hist["u"].isin(order)]
    dense = np.zeros((len(order), len(active)), dtype=np.float32)
    age_days = (as_of[hist.index] - hist["t"]).to_numpy() / DAY_S
    np.add.at(dense, (hist["u"].map(order).to_numpy(), hist["i"].to_numpy()), np.power(0.5, age_days / args.half_life_days))
    model_recs = session.run(["items"], {"history": dense, "active": active})[0]
    pop_recs = top_k(np.where(dense > 0, -np.inf, pop_scores[None, :]), args.k)
    n_active = int(active.sum())
    return {
        "customers_evaluated": int(len(order)),
        "model": metrics(model_recs, list(relevant.values), args.k, n_active),
        "popularity": metrics(pop_recs, list(relevant.values), args.k, n_active),
    }


def sha256_file(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def export(args, model, ids, active, train, eval_users, evaluation, session, popularity_order) -> None:
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "product-recs.onnx")
    onnx.save(model, onnx_path)
    index_path = os.path.join(args.out, "item-index.json")
    with open(index_path, "w") as f:
        json.dump({"product_ids": ids, "active_at_training": [bool(a) for a in active]}, f, separators=(",", ":"))
        f.write("\n")
    n = len(ids)
    card = {
        "name": "product-recs",
        "version": args.version,
        "file": "product-recs.onnx",
        "sha256": sha256_file(onnx_path),
        "kind": "top-k items",
        "k": args.k,
        "trained_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "library": "implicit 0.7.3 AlternatingLeastSquares",
        "hyperparameters": {
            "factors": args.factors, "regularization": args.regularization, "alpha": args.alpha,
            "iterations": args.iterations, "seed": args.seed,
        },
        "item_index": {"file": "item-index.json", "sha256": sha256_file(index_path), "size": n,
                       "note": "position i of history/active/items is product_ids[i]"},
        "inputs": [
            {"name": "history", "type": "float32", "shape": ["batch", n],
             "build": "for each product in item_index, the sum over the customer's purchases before the run's "
                      "snapshot of 0.5 ** (age_days / half_life_days); 0 = never bought; quantity ignored; "
                      "products not in the index are dropped"},
            {"name": "active", "type": "bool", "shape": [n],
             "build": "true when the product is on sale at the run (from the products table), in index order"},
        ],
        "outputs": [
            {"name": "items", "type": "int64", "shape": ["batch", args.k], "meaning": "item index positions, best first"},
            {"name": "scores", "type": "float32", "shape": ["batch", args.k],
             "meaning": "model score; -Infinity marks a slot with no eligible product left"},
        ],
        "history": {"half_life_days": args.half_life_days, "weight": "0.5 ** (age_days / half_life_days) per purchase",
                    "empty_history": "the graph returns 5 eligible items with score 0; use the popularity list"},
        "evaluation": evaluation,
        "training_data": args.data_name or os.path.basename(args.interactions),
    }
    golden = golden_rows(train, eval_users, active, session, popularity_order, n)
    card["golden"] = "golden.json"
    with open(os.path.join(args.out, "model-card.json"), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    golden["model_sha256"] = card["sha256"]
    with open(os.path.join(args.out, "golden.json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.2f} MB, sha256 {card['sha256']})")


def golden_rows(train, eval_users, active, session, popularity_order, n) -> dict:
    """A few sparse histories (index → weight) and the graph's outputs under onnxruntime (Python)."""
    histories = []
    for u in eval_users[:6]:
        row = train[u]
        histories.append({int(i): float(w) for i, w in zip(row.indices, row.data)})
    histories.append({})
    popular_active = [int(i) for i in popularity_order if active[i]][:3]
    histories.append({popular_active[0]: 1.0, popular_active[1]: 0.25})
    inactive = np.flatnonzero(~active)
    if len(inactive):
        histories.append({int(inactive[0]): 1.0, popular_active[2]: 0.5})
    dense = np.zeros((len(histories), n), dtype=np.float32)
    for r, hist in enumerate(histories):
        for i, w in hist.items():
            dense[r, i] = w
    items, scores = session.run(["items", "scores"], {"history": dense, "active": active})
    return {
        "tolerance": 1e-5,
        "active": "item-index.json active_at_training",
        "rows": [
            {"history": {str(i): w for i, w in hist.items()}, "items": it.tolist(), "scores": sc.tolist()}
            for hist, it, sc in zip(histories, items, scores)
        ],
    }


if __name__ == "__main__":
    main()
