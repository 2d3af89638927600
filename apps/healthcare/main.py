"""Case study: structuring a malignant-tumour detector (Course 3 in one run).

    python -m apps.healthcare.main --human-error 0.01 --n-trials 12 --out runs/healthcare

1. Split the 569 tumours into train / train-dev / dev / test (stratified).
2. Random-search the MLP's hyperparameters (log scales) on the dev set, trials
   in parallel processes; pick the model with :func:`ngrad.metrics.select_model`:
   maximize dev F1 subject to dev recall >= ``--min-recall`` (missing a
   malignant tumour costs more than a false alarm).
3. Retrain it, report precision / recall / F1 for malignant cases on dev and test.
4. Diagnose avoidable bias, variance, data mismatch and dev overfitting against
   human-level error, and list the remedies for the largest gap.
5. Write the dev-set mistakes to a CSV to tag for error analysis.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make ``apps`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from apps.healthcare import train  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--human-error", type=float, default=0.01,
                   help="human-level error (a panel of pathologists), the proxy for Bayes error (default 0.01)")
    p.add_argument("--n-trials", type=int, default=12, help="random-search trials (0: default hyperparameters)")
    p.add_argument("--epochs", type=int, default=60, help="epochs per model")
    p.add_argument("--min-recall", type=float, default=0.95, help="satisficing dev recall of malignant cases")
    p.add_argument("--executor", choices=["processes", "threads", "serial"], default="processes")
    p.add_argument("--max-workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0, help="seed of the hyperparameter sampling")
    p.add_argument("--out", default="runs/healthcare", help="output folder")
    return p.parse_args(argv)


def main(argv=None):
    """Run the case study; returns a summary dict (also written to ``OUT/summary.json``)."""
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = train.load_data()
    print(_sizes(data))
    params, selection = tune_model(args, out)
    model = train.fit(params, *data["train"])
    scores = {name: train.evaluate(model, *data[name]) for name in ("train", "train_dev", "dev", "test")}
    report_scores(scores)
    report = diagnosis(args.human_error, scores)
    mistakes = error_analysis(model, data, out)
    summary = {
        "params": params,
        "selection": selection,
        "scores": scores,
        "diagnosis": report.to_dict(),
        "dev_mistakes": len(mistakes),
        "possibly_mislabeled": sum(m.possibly_mislabeled for m in mistakes),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    written = sorted(str(f.relative_to(out)) for f in out.rglob("*") if f.is_file())
    print(f"\nwritten to {out}/: {', '.join(written)}")
    return summary


def _sizes(data):
    sizes = ", ".join(f"{k} {len(v[1])} ({int(v[1].sum())} malignant)" for k, v in data.items() if k != "feature_names")
    return f"breast cancer: {sizes}"


# ------------------------------------------------------------------ steps
def tune_model(args, out):
    """Random search, then optimizing / satisficing selection; returns (params, selection text)."""
    from ngrad.metrics import select_model
    from ngrad.tune import random_search

    if args.n_trials == 0:
        return {**train.DEFAULTS, "epochs": args.epochs}, "default hyperparameters (no search)"
    result = random_search(train.objective, train.search_space(args.epochs), n_trials=args.n_trials,
                           executor=args.executor, max_workers=args.max_workers, seed=args.seed,
                           metric="dev_f1", output_dir=out / "tuning")
    print(f"\n== Hyperparameter search ==\n{result}")
    candidates = {f"trial {t.number}": {"dev_f1": t.score, **t.metrics} for t in result.ok}
    try:
        chosen = select_model(candidates, optimizing="dev_f1", satisficing={"dev_recall": (">=", args.min_recall)})
    except ValueError as e:
        print(f"no trial reaches dev recall >= {args.min_recall}: {e}\nfalling back to the best dev F1")
        chosen = select_model(candidates, optimizing="dev_f1")
    print(f"selected {chosen.name}: maximize dev F1 subject to dev recall >= {args.min_recall}")
    params = result.ok[chosen.index].params
    return params, str(chosen)


def report_scores(scores):
    print("\n== Malignant cases (positive class) ==")
    print(f"{'set':<10}{'error':>8}{'precision':>11}{'recall':>8}{'F1':>8}{'AUC':>8}")
    for name, s in scores.items():
        print(f"{name:<10}{s['error']:8.4f}{s['precision']:11.4f}{s['recall']:8.4f}{s['f1']:8.4f}{s['auc']:8.4f}")


def diagnosis(human_error, scores):
    from ngrad.diagnose import diagnose

    report = diagnose(human=human_error, train=scores["train"]["error"], train_dev=scores["train_dev"]["error"],
                      dev=scores["dev"]["error"], test=scores["test"]["error"])
    print(f"\n== Diagnosis (human-level error {human_error:g}) ==\n{report}")
    grain = ", ".join(f"{name} {1 / scores[name]['m']:.2%}" for name in ("train_dev", "dev", "test"))
    print(f"Small sets: one example is {grain}; smaller gaps are noise (the course's case for larger dev sets).")
    return report


def error_analysis(model, data, out):
    """Dev-set mistakes, the confusion matrix, and a CSV of mistakes to tag."""
    from ngrad.error_analysis import find_mistakes, mistakes_csv
    from ngrad.metrics import confusion_matrix_table

    X, y = data["dev"]
    proba = train.predict_proba(model, X)
    mistakes = find_mistakes(y.astype(np.int64), scores=proba, mislabeled_threshold=0.9)
    names = ["benign", "malignant"]
    print("\n== Dev set ==")
    print(confusion_matrix_table(y.astype(np.int64), train.predict(model, X), labels=[0, 1], names=names))
    flagged = [m.index for m in mistakes if m.possibly_mislabeled]
    print(f"{len(mistakes)} mistakes; confident ones to re-check for label errors: {flagged or 'none'}")
    mistakes_csv(mistakes, out / "dev_mistakes.csv", X=X, feature_names=data["feature_names"], class_names=names,
                 categories=["borderline", "unusual texture", "incorrectly labeled"])
    return mistakes


if __name__ == "__main__":
    main()
