"""``ngrad tune CONFIG``: random hyperparameter search described in a JSON or TOML file.

Example ``tune.toml``::

    objective = "mymodule:objective"   # objective(params) -> score, or a dict of metrics
    n_trials = 20
    seed = 0
    maximize = false                    # the score is an error
    metric = "dev_error"                # its key when the objective returns a dict
    executor = "processes"              # or "dask", "threads", "serial"
    max_workers = 2
    output_dir = "runs/tune"
    rounds = 1                          # > 1: coarse to fine, zooming on the top_k trials
    top_k = 5

    [space]
    lr = { loguniform = [1e-4, 1] }
    beta = { one_minus_loguniform = [0.9, 0.999] }
    hidden = { randint = [16, 257] }
    activation = { choice = ["relu", "tanh"] }
    epochs = 20                         # a constant

The objective's module is imported with the config file's folder on the path.
With ``executor = "dask"``, ``dask_address`` names a running scheduler; without
it a local cluster of ``max_workers`` processes is started.
"""
from __future__ import annotations

import argparse
import sys

KEYS = {
    "objective": None,
    "space": None,
    "n_trials": 20,
    "seed": 0,
    "maximize": True,
    "metric": None,
    "executor": "processes",
    "max_workers": 2,
    "dask_address": None,
    "output_dir": "runs/tune",
    "rounds": 1,
    "top_k": 5,
}
EXECUTORS = ("processes", "threads", "serial", "dask")


class ConfigError(ValueError):
    """A bad tune config (exit status 2)."""


def register(sub):
    p = sub.add_parser(
        "tune",
        help="random hyperparameter search from a JSON/TOML config; writes a results CSV and plot",
        description=__doc__.split("\n\n", 1)[0] + "\n\n" + __doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", help="a .json or .toml file")
    p.add_argument("--n-trials", type=int, default=None, help="override n_trials")
    p.add_argument("--seed", type=int, default=None, help="override seed")
    p.add_argument("--executor", choices=EXECUTORS, default=None, help="override executor")
    p.add_argument("--max-workers", type=int, default=None, help="override max_workers")
    p.add_argument("--output-dir", default=None, help="override output_dir")
    p.add_argument("--quiet", action="store_true", help="no line per trial")
    p.set_defaults(func=run)


def run(args) -> int:
    try:
        cfg = load_config(args.config)
        _override(cfg, args)
        objective = load_objective(cfg["objective"], cfg["_folder"])
        space = _space(cfg)
        results = _search(objective, space, cfg, verbose=not args.quiet)
    except (ConfigError, OSError) as e:
        print(f"ngrad tune: error: {e}", file=sys.stderr)
        return 2
    return _summarize(results, cfg)


# ------------------------------------------------------------------ config
def load_config(path) -> dict:
    """Read and check a tune config; returns it with defaults filled in."""
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no config file at {str(path)!r}")
    raw = _parse(path)
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown keys {unknown}; known: {sorted(KEYS)}")
    for key in ("objective", "space"):
        if key not in raw:
            raise ConfigError(f"{path}: missing {key!r}")
    cfg = {**KEYS, **raw, "_folder": str(path.resolve().parent)}
    _check_values(cfg, path)
    return cfg


def _parse(path):
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        import json

        try:
            raw = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path}: invalid JSON: {e}") from None
    elif path.suffix.lower() == ".toml":
        toml = _toml()
        try:
            raw = toml.loads(text)
        except toml.TOMLDecodeError as e:
            raise ConfigError(f"{path}: invalid TOML: {e}") from None
    else:
        raise ConfigError(f"{path}: the config must be a .json or .toml file")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the config must be a table/object of settings")
    return raw


def _toml():
    try:
        import tomllib as toml
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as toml
        except ModuleNotFoundError:
            raise ConfigError("TOML configs need Python 3.11+ or the tomli package; or write JSON") from None
    return toml


def _check_values(cfg, path):
    for key in ("n_trials", "max_workers", "rounds", "top_k"):
        v = cfg[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{path}: {key} must be a positive integer, got {v!r}")
    if isinstance(cfg["seed"], bool) or not isinstance(cfg["seed"], int):
        raise ConfigError(f"{path}: seed must be an integer, got {cfg['seed']!r}")
    if not isinstance(cfg["maximize"], bool):
        raise ConfigError(f"{path}: maximize must be true or false, got {cfg['maximize']!r}")
    if cfg["executor"] not in EXECUTORS:
        raise ConfigError(f"{path}: executor must be one of {list(EXECUTORS)}, got {cfg['executor']!r}")
    if not isinstance(cfg["objective"], str) or ":" not in cfg["objective"]:
        raise ConfigError(f"{path}: objective must be 'module:function', got {cfg['objective']!r}")


def _override(cfg, args):
    for key in ("n_trials", "seed", "executor", "max_workers", "output_dir"):
        value = getattr(args, key)
        if value is not None:
            cfg[key] = value
    for key in ("n_trials", "max_workers"):
        if cfg[key] < 1:
            raise ConfigError(f"--{key.replace('_', '-')} must be at least 1")


def load_objective(spec, folder=None):
    """Import ``module:function`` (with ``folder`` on the import path)."""
    import importlib

    module_name, _, attr = spec.partition(":")
    if folder and folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        raise ConfigError(f"objective {spec!r}: cannot import module {module_name!r} ({e})") from None
    fn = module
    for part in attr.split("."):
        fn = getattr(fn, part, None)
    if not callable(fn):
        raise ConfigError(f"objective {spec!r}: {module_name} has no callable {attr!r}")
    return fn


def _space(cfg):
    from ngrad.tune import space_from_config

    try:
        return space_from_config(cfg["space"])
    except ValueError as e:
        raise ConfigError(str(e)) from None


# ------------------------------------------------------------------ search
def _search(objective, space, cfg, verbose):
    from pathlib import Path

    from ngrad.tune import coarse_to_fine

    out = Path(cfg["output_dir"])
    with _executor(cfg) as executor:
        kwargs = dict(
            rounds=cfg["rounds"], n_trials=cfg["n_trials"], top_k=cfg["top_k"], seed=cfg["seed"],
            maximize=cfg["maximize"], metric=cfg["metric"], executor=executor,
            max_workers=cfg["max_workers"], verbose=verbose,
        )
        if cfg["rounds"] == 1:
            results = coarse_to_fine(objective, space, **kwargs)
            results[0].save(out)
        else:
            results = coarse_to_fine(objective, space, output_dir=out, **kwargs)
    _write_config(cfg, results, out)
    return results


class _executor:
    """The configured executor as a context manager (a Dask client and cluster are closed after)."""

    def __init__(self, cfg):
        self.cfg, self.closers = cfg, []

    def __enter__(self):
        if self.cfg["executor"] != "dask":
            return self.cfg["executor"]
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError('executor "dask" needs dask.distributed: pip install "ngrad[tune]"') from None
        if self.cfg["dask_address"]:
            client = Client(self.cfg["dask_address"])
        else:
            cluster = LocalCluster(n_workers=self.cfg["max_workers"], threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            self.closers.append(cluster)
            client = Client(cluster)
        self.closers.insert(0, client)
        return client.get_executor()

    def __exit__(self, *exc):
        for c in self.closers:
            c.close()


def _write_config(cfg, results, out):
    import json

    from ngrad.tune import space_to_config

    resolved = {k: v for k, v in cfg.items() if not k.startswith("_")}
    resolved["spaces"] = [space_to_config(r.space) for r in results]
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(resolved, indent=2, default=str), encoding="utf-8")


def _summarize(results, cfg) -> int:
    last = results[-1]
    print(last)
    folder = cfg["output_dir"] if len(results) == 1 else f"{cfg['output_dir']}/round*"
    print(f"results: {folder}/results.csv, {folder}/results.png")
    best = min((r.best for r in results if r.best), key=lambda t: -t.score if cfg["maximize"] else t.score,
               default=None)
    if best is None:
        print("ngrad tune: every trial failed; see failures.txt", file=sys.stderr)
        return 1
    print(f"best: {last.metric} {best.score:.6g} with {best.params}")
    return 0
