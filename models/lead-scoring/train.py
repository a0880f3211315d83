#!/usr/bin/env python3
"""Train the scoreflow lead-scoring model and export it to ONNX.

Pipeline
--------
1. Read ``lead-distribution.json`` (the single source of truth of the
   synthetic lead feature distribution, also read by the TypeScript seeder)
   and sample ``N_ROWS`` leads with a fixed seed (``SEED``), so the data set is
   fully deterministic.
2. Label every lead ``converted`` with a KNOWN signal: a logistic model

       logit =  INTERCEPT                                   (-4.85)
              + 0.35 * log1p(company_size)
              + INDUSTRY_EFFECT[industry]
              + SOURCE_EFFECT[lead_source]
              + SENIORITY_EFFECT[seniority]
              + 0.45 * log1p(site_visits_30d)
              + 0.25 * log1p(email_opens_30d)
              + 0.60 * log1p(email_clicks_30d)
              - 0.50 * days_since_last_activity / 30
              + 2.20 * demo_requested                       (0 or 1)

       P(converted) = 1 / (1 + exp(-logit));  converted = (u < P)

   with the categorical effects

       industry:    software +0.40, finance +0.25, healthcare 0.00,
                    manufacturing -0.10, retail -0.20, other -0.30,
                    education -0.40
       lead_source: referral +0.90, partner +0.50, event +0.40, web 0.00,
                    paid_search -0.20, outbound -0.50
       seniority:   vp +0.60, c_level +0.50, director +0.40, manager +0.10,
                    individual -0.30

   The intercept puts the base conversion rate at roughly 12 %.
3. Fit a scikit-learn Pipeline: ColumnTransformer (OneHotEncoder with
   handle_unknown='ignore' on industry / lead_source / seniority, passthrough
   on the numeric columns) + GradientBoostingClassifier(150 trees, depth 3).
   20 % of the rows are held out to measure AUC.
4. Export with skl2onnx (preprocessing inside the graph, no ZipMap): one
   input per feature, named like the feature, shape [None, 1] (float for
   numeric / boolean features, string for categorical ones); outputs
   ``label`` (int64) and ``probabilities`` (float [N, 2]).
5. Write ``lead-scoring.onnx``, ``model-card.json`` and ``golden.json``.

Run:  python3 train.py   (with the packages of requirements.txt installed)
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
from datetime import datetime, timezone

import numpy as np
import onnxruntime as ort
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

HERE = os.path.dirname(os.path.abspath(__file__))
DISTRIBUTION_FILE = os.path.join(HERE, "lead-distribution.json")
ONNX_FILE = "lead-scoring.onnx"

SEED = 20240611
GOLDEN_SEED = SEED + 1
N_ROWS = 60_000
HELDOUT_FRACTION = 0.2
N_GOLDEN_SAMPLES = 30

GBC_PARAMS = dict(
    n_estimators=150, max_depth=3, learning_rate=0.1, subsample=1.0, random_state=0
)

# ---- the known conversion signal (documented above and in README.md) ------
INTERCEPT = -4.85
W_COMPANY_SIZE = 0.35  # * log1p(company_size)
W_SITE_VISITS = 0.45  # * log1p(site_visits_30d)
W_EMAIL_OPENS = 0.25  # * log1p(email_opens_30d)
W_EMAIL_CLICKS = 0.60  # * log1p(email_clicks_30d)
W_RECENCY = -0.50  # * days_since_last_activity / 30
W_DEMO = 2.20  # * demo_requested
INDUSTRY_EFFECT = {
    "software": 0.40, "finance": 0.25, "healthcare": 0.00, "manufacturing": -0.10,
    "retail": -0.20, "other": -0.30, "education": -0.40,
}
SOURCE_EFFECT = {
    "referral": 0.90, "partner": 0.50, "event": 0.40, "web": 0.00,
    "paid_search": -0.20, "outbound": -0.50,
}
SENIORITY_EFFECT = {
    "vp": 0.60, "c_level": 0.50, "director": 0.40, "manager": 0.10, "individual": -0.30,
}

CATEGORICAL_KINDS = {"categorical"}
INTEGER_KINDS = {"lognormal", "exponential"}


# ---- sampling (semantics documented in lead-distribution.json) -------------
def sample_feature(spec: dict, n: int, rng: np.random.Generator) -> np.ndarray:
    kind = spec["kind"]
    if kind == "lognormal":
        z = rng.standard_normal(n)
        v = np.floor(np.exp(spec["mu"] + spec["sigma"] * z) + 0.5)
        return np.clip(v, spec["min"], spec["max"]).astype(np.int64)
    if kind == "exponential":
        u = rng.random(n)
        v = np.floor(-spec["mean"] * np.log1p(-u))
        return np.clip(v, spec["min"], spec["max"]).astype(np.int64)
    if kind == "categorical":
        cats = list(spec["weights"].keys())
        w = np.array([spec["weights"][c] for c in cats], dtype=np.float64)
        cum = np.cumsum(w / w.sum())
        u = rng.random(n)
        idx = np.searchsorted(cum, u, side="right")  # first cum > u
        idx = np.minimum(idx, len(cats) - 1)
        return np.array(cats, dtype=object)[idx]
    if kind == "bernoulli":
        return rng.random(n) < spec["p"]
    raise ValueError(f"unknown distribution kind {kind!r} for {spec['name']}")


def sample_leads(features: list[dict], n: int, rng: np.random.Generator) -> dict:
    return {f["name"]: sample_feature(f, n, rng) for f in features}


def conversion_logit(d: dict) -> np.ndarray:
    return (
        INTERCEPT
        + W_COMPANY_SIZE * np.log1p(d["company_size"])
        + np.array([INDUSTRY_EFFECT[x] for x in d["industry"]])
        + np.array([SOURCE_EFFECT[x] for x in d["lead_source"]])
        + np.array([SENIORITY_EFFECT[x] for x in d["seniority"]])
        + W_SITE_VISITS * np.log1p(d["site_visits_30d"])
        + W_EMAIL_OPENS * np.log1p(d["email_opens_30d"])
        + W_EMAIL_CLICKS * np.log1p(d["email_clicks_30d"])
        + W_RECENCY * d["days_since_last_activity"] / 30.0
        + W_DEMO * d["demo_requested"].astype(np.float64)
    )


# ---- helpers -----------------------------------------------------------------
def to_matrix(d: dict, names: list[str], categorical: set[str]) -> np.ndarray:
    """Object matrix with one column per feature, in distribution order."""
    cols = []
    for name in names:
        col = d[name]
        if name in categorical:
            cols.append(np.asarray(col, dtype=object))
        else:
            cols.append(np.asarray(col, dtype=np.float32).astype(object))
    return np.column_stack(cols)


def to_onnx_feed(d: dict, names: list[str], categorical: set[str]) -> dict:
    feed = {}
    for name in names:
        col = np.asarray(d[name])
        if name in categorical:
            feed[name] = col.astype(object).reshape(-1, 1)
        else:
            feed[name] = col.astype(np.float32).reshape(-1, 1)
    return feed


def subset(d: dict, idx: np.ndarray) -> dict:
    return {k: np.asarray(v)[idx] for k, v in d.items()}


def write_json(path: str, obj) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=2)
        fh.write("\n")


def main() -> int:
    os.chdir(HERE)
    with open(DISTRIBUTION_FILE, encoding="utf-8") as fh:
        dist = json.load(fh)
    features = dist["features"]
    names = [f["name"] for f in features]
    categorical = {f["name"] for f in features if f["kind"] in CATEGORICAL_KINDS}
    for f in features:
        if f["kind"] == "categorical":
            effect = {"industry": INDUSTRY_EFFECT, "lead_source": SOURCE_EFFECT,
                      "seniority": SENIORITY_EFFECT}[f["name"]]
            assert set(effect) == set(f["weights"]), f"effects do not match {f['name']}"

    # -- data --------------------------------------------------------------
    rng = np.random.default_rng(SEED)
    data = sample_leads(features, N_ROWS, rng)
    p_true = 1.0 / (1.0 + np.exp(-conversion_logit(data)))
    y = (rng.random(N_ROWS) < p_true).astype(np.int64)
    base_rate = float(y.mean())

    idx_train, idx_test = train_test_split(
        np.arange(N_ROWS), test_size=HELDOUT_FRACTION, random_state=SEED, stratify=y
    )
    train, test = subset(data, idx_train), subset(data, idx_test)
    X_train = to_matrix(train, names, categorical)
    X_test = to_matrix(test, names, categorical)
    y_train, y_test = y[idx_train], y[idx_test]

    # -- model -------------------------------------------------------------
    cat_idx = [i for i, n in enumerate(names) if n in categorical]
    num_idx = [i for i, n in enumerate(names) if n not in categorical]
    pre = ColumnTransformer(
        [
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cat_idx),
            ("numeric", "passthrough", num_idx),
        ]
    )
    clf = GradientBoostingClassifier(**GBC_PARAMS)
    pipe = Pipeline([("pre", pre), ("gbc", clf)])
    pipe.fit(X_train, y_train)
    sk_proba = pipe.predict_proba(X_test)[:, 1]
    auc = float(roc_auc_score(y_test, sk_proba))
    oracle_auc = float(roc_auc_score(y_test, p_true[idx_test]))
    assert auc > 0.75, f"held-out AUC too low: {auc}"

    # -- ONNX export ---------------------------------------------------------
    initial_types = [
        (n, StringTensorType([None, 1]) if n in categorical else FloatTensorType([None, 1]))
        for n in names
    ]
    onx = convert_sklearn(
        pipe,
        name="lead-scoring",
        initial_types=initial_types,
        options={id(pipe): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    # skl2onnx emits opset_import in set order (varies between runs); sort it so
    # the same data gives byte-identical ONNX files (and the same sha256).
    opsets = sorted((o.domain, o.version) for o in onx.opset_import)
    del onx.opset_import[:]
    for domain, version in opsets:
        onx.opset_import.add(domain=domain, version=version)
    onnx_bytes = onx.SerializeToString(deterministic=True)
    with open(ONNX_FILE, "wb") as fh:
        fh.write(onnx_bytes)
    sha256 = hashlib.sha256(onnx_bytes).hexdigest()

    sess = ort.InferenceSession(ONNX_FILE, providers=["CPUExecutionProvider"])
    input_names = [i.name for i in sess.get_inputs()]
    output_names = [o.name for o in sess.get_outputs()]
    assert input_names == names, input_names
    assert output_names == ["label", "probabilities"], output_names

    label, proba = sess.run(None, to_onnx_feed(test, names, categorical))
    ort_proba = proba[:, 1].astype(np.float64)
    max_diff = float(np.max(np.abs(ort_proba - sk_proba)))
    assert max_diff < 1e-4, f"onnxruntime and sklearn disagree: {max_diff}"

    # -- buckets: top 10 % hot, next 20 % warm, next 30 % cool, rest cold -----
    q_hot, q_warm, q_cool = (round(float(np.quantile(ort_proba, q)), 2) for q in (0.9, 0.7, 0.4))
    assert q_hot > q_warm > q_cool > 0, (q_hot, q_warm, q_cool)
    buckets = [
        {"name": "hot", "min_score": q_hot},
        {"name": "warm", "min_score": q_warm},
        {"name": "cool", "min_score": q_cool},
        {"name": "cold", "min_score": 0},
    ]
    bucket_share = {
        b["name"]: float(np.mean((ort_proba >= b["min_score"]) & (ort_proba < hi)))
        for b, hi in zip(buckets, [math.inf] + [b["min_score"] for b in buckets[:-1]])
    }

    # -- model card ----------------------------------------------------------
    ohe = pipe.named_steps["pre"].named_transformers_["onehot"]
    ohe_cats = {names[i]: [str(c) for c in cats] for i, cats in zip(cat_idx, ohe.categories_)}
    card_inputs = []
    for f in features:
        if f["kind"] == "categorical":
            cats = sorted(f["weights"].keys())
            assert cats == ohe_cats[f["name"]], (cats, ohe_cats[f["name"]])
            card_inputs.append({"name": f["name"], "type": "category", "categories": cats})
        elif f["kind"] == "bernoulli":
            card_inputs.append({"name": f["name"], "type": "boolean"})
        else:
            card_inputs.append(
                {"name": f["name"], "type": "integer", "min": f["min"], "max": f["max"]}
            )
    params = ", ".join(f"{k}={v}" for k, v in GBC_PARAMS.items())
    card = {
        "name": "lead-scoring",
        "version": "1.0.0",
        "file": ONNX_FILE,
        "sha256": sha256,
        "description": (
            "Probability that a B2B lead converts (becomes a customer), estimated "
            "from firmographics (company size, industry), lead source, contact "
            "seniority, 30-day engagement (site visits, email opens and clicks), "
            "recency of last activity and whether a demo was requested. Trained on "
            "synthetic leads drawn from lead-distribution.json and labelled by the "
            "known logistic signal documented in README.md."
        ),
        "algorithm": (
            f"scikit-learn GradientBoostingClassifier ({params}) with one-hot "
            "preprocessing, exported by skl2onnx"
        ),
        "trained_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "training_rows": int(len(idx_train)),
        "heldout_rows": int(len(idx_test)),
        "heldout_auc": round(auc, 4),
        "inputs": card_inputs,
        "categories_case": "insensitive",
        "output": {"name": "probabilities", "index": 1},
        "buckets": buckets,
    }
    write_json("model-card.json", card)

    # -- golden rows ---------------------------------------------------------
    grng = np.random.default_rng(GOLDEN_SEED)
    sampled = sample_leads(features, N_GOLDEN_SAMPLES, grng)
    rows = [{n: sampled[n][i] for n in names} for i in range(N_GOLDEN_SAMPLES)]
    base = dict(rows[0])
    for f in features:  # every numeric at its clamp bounds
        if f["kind"] in INTEGER_KINDS:
            for bound in (f["min"], f["max"]):
                rows.append({**base, f["name"]: bound})
    for f in features:  # every category of every categorical
        if f["kind"] == "categorical":
            for c in f["weights"]:
                rows.append({**base, f["name"]: c})
    for f in features:  # booleans both ways
        if f["kind"] == "bernoulli":
            for b in (True, False):
                rows.append({**base, f["name"]: b})

    def typed(name, v):
        if name in categorical:
            return str(v)
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        return int(v)

    rows = [{n: typed(n, r[n]) for n in names} for r in rows]
    golden_cols = {n: [r[n] for r in rows] for n in names}
    _, gproba = sess.run(None, to_onnx_feed(golden_cols, names, categorical))
    golden = {
        "model_sha256": sha256,
        "tolerance": 1e-6,
        "rows": [
            {"inputs": r, "probability": float(p)} for r, p in zip(rows, gproba[:, 1])
        ],
    }
    write_json("golden.json", golden)

    # -- summary ---------------------------------------------------------------
    print(f"rows: {N_ROWS} (train {len(idx_train)}, held-out {len(idx_test)})")
    print(f"base conversion rate: {base_rate:.4f}")
    print(f"held-out AUC: {auc:.4f} (oracle AUC of the true signal: {oracle_auc:.4f})")
    print(f"max |onnxruntime - sklearn| on held-out: {max_diff:.3e}")
    print("buckets: " + ", ".join(
        f"{b['name']} >= {b['min_score']} ({bucket_share[b['name']]:.1%})" for b in buckets))
    print(f"onnx: {ONNX_FILE} {len(onnx_bytes)} bytes sha256 {sha256}")
    print("onnx opsets: " + ", ".join(f"{d or 'ai.onnx'}={v}" for d, v in opsets))
    print("onnx inputs: " + ", ".join(f"{i.name}:{i.type}{i.shape}" for i in sess.get_inputs()))
    print("onnx outputs: " + ", ".join(f"{o.name}:{o.type}{o.shape}" for o in sess.get_outputs()))
    print(f"golden rows: {len(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
