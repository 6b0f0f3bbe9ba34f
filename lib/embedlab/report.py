"""What a notebook leaves behind: figures (one may be the key figure), tables, ``metrics.json`` and provenance.

A run directory is chosen by the runner through ``$EMBEDLAB_RUN_DIR``; a notebook opened by hand
in JupyterLab writes under ``reports/interactive/<notebook>/`` instead. ``metrics.json`` is
:meth:`Results.to_dict <embedlab.study.Results.to_dict>` plus parameters and provenance.
"""
from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path
from typing import Any, Mapping

from . import assets, cite, paths, progress, userfiles
from .provenance import TRACKED_PACKAGES, git_commit, machine, package_versions, provenance  # noqa: F401
from .seeding import seed_everything
from .study import Config, Results, fmt
from .util import atomic_write



_INTERACTIVE: list[Path] = []  # the folder begin() chose for this interactive session


def notebook_name(default: str = "notebook") -> str:
    """The open notebook's file name without ``.ipynb`` (Jupyter's ``$JPY_SESSION_NAME`` or the kernel's
    ``__session__``), else ``default``."""
    name = os.environ.get("JPY_SESSION_NAME", "")
    if not name:
        try:
            from IPython import get_ipython

            shell = get_ipython()
            name = str(shell.user_ns.get("__session__") or "") if shell is not None else ""
        except ImportError:  # pragma: no cover
            pass
    return safe_name(Path(name).stem) if name else default


def run_dir() -> Path:
    """Directory for this run's outputs (created on demand): the runner's ``$EMBEDLAB_RUN_DIR``, else
    ``reports/interactive/<notebook>/``."""
    env = os.environ.get("EMBEDLAB_RUN_DIR")
    if env:
        d = Path(env)
        _check_owner(d)
    else:
        d = _INTERACTIVE[0] if _INTERACTIVE else paths.REPORTS / "interactive" / notebook_name(
            os.environ.get("EMBEDLAB_RUN_NAME", "notebook"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def _check_owner(d: Path) -> None:
    """A runner's kernel writes only while the run folder's record is its run's (``$EMBEDLAB_RUN_TOKEN``): a kernel
    left over from a killed runner must not overwrite a newer run's files."""
    token = os.environ.get("EMBEDLAB_RUN_TOKEN")
    if not token:
        return
    try:
        owner = json.loads((d / "run.json").read_text(encoding="utf-8")).get("token")
    except (OSError, ValueError, AttributeError):
        owner = None
    if owner != token:
        raise RuntimeError(f"the run folder {d} belongs to another run now; this kernel writes nothing more there")


def _start_interactive(default: str) -> Path:
    """An interactive session's folder, ``reports/interactive/<notebook>/``, emptied of an earlier session's outputs."""
    import shutil

    d = paths.REPORTS / "interactive" / notebook_name(default)
    if d.is_dir() and d.parent.name == "interactive":
        shutil.rmtree(d)
    _INTERACTIVE[:] = [d]
    return d


def figures_dir() -> Path:
    """Where figures are saved."""
    d = run_dir() / "figures"
    d.mkdir(exist_ok=True)
    return d


def safe_name(name: str) -> str:
    """A file-name-safe form of ``name`` (``file:/x/y.txt`` -> ``file_x_y.txt``)."""
    import re

    out = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("._")
    return out[:120] or "figure"


_KEY_FIGURE: list[str] = []  # the run's key figure, declared by savefig(..., key=True); reset by begin()


def savefig(fig, name: str, dpi: int = 110, show: bool = True, key: bool = False) -> Path:
    """Save a matplotlib figure as ``figures/<name>.png``, show that very PNG inline and close the figure.

    The page then holds exactly the saved file (a test compares them), whatever matplotlib backend the kernel has.
    ``key=True`` declares it the run's key figure (the index's thumbnail): :func:`record` writes it as the results'
    ``key_figure``; a later ``key=True`` replaces an earlier one.
    """
    path = figures_dir() / f"{safe_name(name)}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    if key:
        _KEY_FIGURE[:] = [f"figures/{path.name}"]
    if show:
        _display_png(path)
    try:
        import matplotlib.pyplot as plt

        plt.close(fig)
    except Exception:  # pragma: no cover - matplotlib always there
        pass
    return path


def _display_png(path: Path) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import Image, display

        if get_ipython() is not None:
            display(Image(filename=str(path)))
    except ImportError:  # pragma: no cover
        pass


def has_row_labels(df) -> bool:
    """Whether a DataFrame's index labels its rows (anything but pandas' unnamed default 0, 1, ..., n-1)."""
    import pandas as pd

    idx = df.index
    return not (isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1 and idx.name is None)


_LATEX_SPECIAL = {c: "\\" + c for c in "&%$#_{}"} | {"\\": r"\textbackslash{}", "~": r"\textasciitilde{}",
                                                       "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    """Text set literally in LaTeX (``&``, ``%``, ``_`` ... escaped)."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def latex_table(df, caption: str = "") -> str:
    """A DataFrame as a LaTeX ``tabular`` with booktabs rules (``\\usepackage{booktabs}``), row labels kept as in
    :func:`save_table`, cells escaped, numbers to 4 significant digits, missing values as ``--``."""
    return df.to_latex(index=has_row_labels(df), escape=True, na_rep="--", multirow=False,
                       float_format=lambda v: f"{v:.4g}", caption=latex_escape(caption) if caption else None)


def save_table(df, name: str, caption: str = "") -> Path:
    """Save a DataFrame as ``tables/<name>.csv`` and, beside it, ``tables/<name>.tex`` (LaTeX, booktabs).

    The CSV keeps the row labels (the index, unless it is pandas' unnamed default 0..n-1), so a table read alone
    still says which row is which."""
    d = run_dir() / "tables"
    d.mkdir(exist_ok=True)
    path = d / f"{name}.csv"
    atomic_write(path, df.to_csv(index=has_row_labels(df)))
    atomic_write(d / f"{name}.tex", latex_table(df, caption))
    return path


def _jsonable(x):
    """Convert numpy scalars/arrays and pandas objects into plain JSON types."""
    if hasattr(x, "item") and getattr(x, "ndim", 1) == 0:
        return x.item()
    if hasattr(x, "tolist"):
        return x.tolist()
    if hasattr(x, "to_dict"):
        return x.to_dict()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def key_figure() -> str | None:
    """The figure declared with ``savefig(..., key=True)`` since :func:`begin` (relative to the run folder)."""
    return _KEY_FIGURE[0] if _KEY_FIGURE else None


def record(results: "Results | Mapping[str, float]", cfg: "Config | dict | None" = None, seed: int | None = None,
           **extra) -> None:
    """Write ``metrics.json`` (``metrics_path()``); returns nothing, so a notebook's last line shows nothing.

    The file is ``results.to_dict()`` (schema version, study, status, deterministic metrics, headlines with
    intervals and flags, flags, unavailable sets, findings, notes, timings, key figure, published reference) plus
    the complete parameters and provenance. A figure saved with ``key=True`` becomes the key figure. A plain
    mapping of numbers (a toy notebook) is recorded as the metrics of study-less results.
    """
    if not isinstance(results, Results):
        results = Results("", metrics=dict(results))
    if key_figure():
        results.key_figure = key_figure()
    params = cfg.params if isinstance(cfg, Config) else dict(cfg or {})
    seed = params.get("seed", seed)
    doc = {**results.to_dict(), "parameters": params, "provenance": provenance(params, seed), **extra}
    atomic_write(metrics_path(), json.dumps(doc, indent=2, sort_keys=True, default=_jsonable, ensure_ascii=False))


def metrics_path() -> Path:
    """Where :func:`record` writes ``metrics.json`` for this run."""
    return run_dir() / "metrics.json"


# --------------------------------------------------------------------------- the notebook's report cells

_WARNINGS: list[str] = []


def begin(cfg: Config, threads: int | None = None) -> Config:
    """First call of every study notebook: seed, pin threads, quiet library chatter and collect warnings.

    Warnings are gathered for the report's "what this run could not do" box; under the runner they are not printed
    between cells, in an interactive session they are shown as well. An interactive session writes to
    ``reports/interactive/<notebook>/``, emptied here. transformers/huggingface progress bars and info logs are
    switched off (progress goes to the terminal).
    """
    import logging
    import warnings

    cfg = _user_files(cfg)
    params = cfg.params
    seed_everything(params.get("seed", 0), threads or params.get("threads"))
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for name in ("transformers", "sentence_transformers", "gensim", "urllib3", "huggingface_hub", "numba"):
        logging.getLogger(name).setLevel(logging.ERROR)
    _WARNINGS.clear()
    _KEY_FIGURE.clear()
    interactive = not os.environ.get("EMBEDLAB_RUN_DIR")
    if interactive:
        _start_interactive(cfg.study or "notebook")
    shown = getattr(warnings.showwarning, "_shown_by", warnings.showwarning)  # the one before any begin()

    def _collect(message, category, filename, lineno, file=None, line=None):
        text = f"{category.__name__}: {message}"
        if text not in _WARNINGS:
            _WARNINGS.append(text)
        if interactive:
            shown(message, category, filename, lineno, file, line)

    _collect._shown_by = shown
    warnings.showwarning = _collect
    warnings.simplefilter("default")
    warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm.auto in a kernel; bars are off anyway
    warnings.filterwarnings("ignore", category=ResourceWarning)  # unclosed temp files of third-party trainers
    try:
        import pandas as pd

        pd.set_option("display.max_colwidth", 90)
        pd.set_option("display.precision", 3)
    except ImportError:  # pragma: no cover
        pass
    progress.log(f"{cfg.study or type(cfg).__name__}: parameters validated")
    return cfg


def _user_files(cfg: Config) -> Config:
    """The Config with every user path (``file:``, ``slices:``, ``*_paths``) resolved to an absolute path, each
    checked (a missing one raises :class:`~embedlab.userfiles.UserFileMissing` naming the parameter and the path),
    hashed and recorded for provenance; the resolved paths are printed."""
    userfiles.clear()
    found = userfiles.check(cfg.params, lambda name: name in assets.registry())
    for u, path in found:
        print(f"user file: {u.param} = {u.value!r} -> {path}")
    if not found:
        return cfg
    fixed = userfiles.absolute(cfg.params, userfiles.user_root(), lambda name: name in assets.registry())
    return cfg.replace(**{k: v for k, v in fixed.items() if v != cfg.params[k]})


def collected_warnings() -> list[str]:
    """Warnings raised since :func:`begin` (shown in the report's box, recorded in metrics.json)."""
    return list(_WARNINGS)


def _html(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _short(text: str, limit: int = 260) -> str:
    """A reason cut to one readable line (the whole text stays in metrics.json)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def _ci_text(ci) -> str:
    return f"[{fmt(ci[0])}, {fmt(ci[1])}]" if ci else "–"


def _display_html(markup: str) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display

        if get_ipython() is not None:
            display(HTML(markup))
            return
    except ImportError:  # pragma: no cover
        pass
    print(re.sub(r"<[^>]+>", "", markup))


_STYLE = """<style>
.el-box{border:1px solid #ccc;border-radius:6px;padding:8px 12px;margin:8px 0;font-family:sans-serif;font-size:13px}
.el-warn{background:#fff7e6;border-color:#f0b45a}.el-ok{background:#eef8ee;border-color:#7cc47c}
.el-flag{color:#a33;font-weight:bold}.el-box table{border-collapse:collapse}.el-box td,.el-box th{padding:2px 8px;text-align:left;
border-bottom:1px solid #eee;text-align:left;vertical-align:top}
</style>"""


def status_box(results: Results) -> str:
    """HTML: the run's status and everything it could not do (unavailable sets, flags, warnings)."""
    items = [f"<li><b>unavailable</b> {_html(u.kind)} <code>{_html(u.name)}</code>: {_html(_short(u.reason))}</li>"
             for u in results.unavailable]
    items += [f"<li><span class='el-flag'>{_html(f.kind)}</span> <code>{_html(f.key)}</code>: {_html(f.message)}"
              + (f"<br><i>why:</i> {_html(f.explanation)}" if f.explanation else "") + "</li>" for f in results.flags]
    items += [f"<li>warning: {_html(w[:300])}</li>" for w in collected_warnings()]
    cls = "el-warn" if items else "el-ok"
    head = f"<b>status: {_html(results.status)}</b>"
    body = ("<p>What this run could not do, or where its numbers must not be read as findings:</p><ul>"
            + "".join(items) + "</ul>") if items else " — every evaluation ran and no number was flagged."
    return f"{_STYLE}<div class='el-box {cls}'>{head}{body}</div>"


def headlines_table(results: Results) -> str:
    """HTML: the declared headline comparisons with intervals, n, reference levels and flags."""
    rows = []
    for h in results.headlines:
        ref = f"{_html(h.reference.kind)} {fmt(h.reference.value)}" if h.reference else "–"
        fl = "<br>".join(f"<span class='el-flag'>{_html(m)}</span>" for m in h.flags) or "–"
        if h.expected and not h.flags:
            ref += " (sanity baseline: as expected)"
        seeds = "–" if h.seeds is None else f"{h.seeds}<br><small>{_html(h.seed_note)}</small>"
        rows.append(f"<tr><td>{_html(h.label)}</td><td>{fmt(h.value)}</td><td>{_ci_text(h.ci)}</td>"
                    f"<td>{h.n if h.n is not None else '–'}</td><td>{seeds}</td><td>{ref}</td><td>{fl}</td></tr>")
    if not rows:
        return ""
    return (f"{_STYLE}<div class='el-box'><b>Headline comparisons</b> (95% bootstrap intervals; with several "
            "training seeds the interval resamples seeds, then items)<table>"
            "<tr><th>what</th><th>value</th><th>95% CI</th><th>n</th><th>training seeds</th><th>reference</th>"
            "<th>flags</th></tr>"
            + "".join(rows) + "</table></div>")


def findings_list(results: Results) -> str:
    """HTML: the findings, each generated from this run's numbers."""
    f = results.findings()
    if not f:
        return ""
    return (f"{_STYLE}<div class='el-box'><b>Findings of this run</b> (generated from the numbers above)<ul>"
            + "".join(f"<li>{_html(x)}</li>" for x in f) + "</ul></div>")


def notes_list(results: Results) -> str:
    """HTML: where this run differs from the papers' setting."""
    if not results.notes:
        return ""
    return (f"{_STYLE}<div class='el-box'><b>Where this run differs from the papers</b><ul>"
            + "".join(f"<li>{_html(x)}</li>" for x in results.notes) + "</ul></div>")


def published_panel(results: Results) -> str:
    """HTML: the papers' published numbers, labelled as theirs, or a plain statement that there are none."""
    df = results.published
    note = results.published_note
    if df is None or len(df) == 0:
        return (f"{_STYLE}<div class='el-box'><b>Published numbers</b>: "
                f"{_html(note or 'the papers publish no number for this setting.')}</div>")
    return (f"{_STYLE}<div class='el-box'><b>Published numbers (the papers', not ours)</b>"
            f"{('<p>' + _html(note) + '</p>') if note else ''}{df.to_html(index=False, escape=True)}</div>")


def _shown(path: Path) -> str:
    """A path relative to the project when inside it."""
    try:
        return str(Path(path).resolve().relative_to(paths.ROOT))
    except ValueError:
        return str(path)


def provenance_block(cfg: Config | None) -> str:
    """HTML (collapsed): commit, date, machine, device, threads, full parameters, asset checksums, what to cite (the
    study's papers and every asset read, :mod:`embedlab.cite`), packages."""
    params = cfg.params if isinstance(cfg, Config) else (cfg or {})
    prov = provenance(params, params.get("seed"))
    rows = "".join(f"<tr><td>{_html(k)}</td><td><code>{_html(v)}</code></td></tr>" for k, v in params.items())
    used = {**dict(prov["assets"]), **prov["user_files"]}
    assets_rows = "".join(f"<tr><td>{_html(name)}</td><td><code>{_html(info.get('sha256', '') if isinstance(info, dict) else info)}"
                          f"</code></td></tr>" for name, info in used.items())
    m = prov["machine"]
    refs = cite.references(cfg.study if isinstance(cfg, Config) else "", params, prov["assets"])
    to_cite = (f"<p><b>What to cite</b> ({len(refs)}; as BibTeX: <code>embedlab cite {_html(_shown(run_dir()))}</code>)"
               f"</p><ul>{''.join(f'<li>{_html(cite.short(r))}</li>' for r in refs)}</ul>") if refs else ""
    return (f"{_STYLE}<div class='el-box'><details><summary><b>Provenance</b>: commit "
            f"<code>{_html(prov['git_commit'][:12])}</code>, {_html(prov['date'])}, {_html(m.get('platform'))}, "
            f"{_html(m.get('cpus'))} CPUs, device {_html(m.get('device'))}, torch threads "
            f"{_html(m.get('torch_threads', '–'))}, PYTHONHASHSEED={_html(prov['pythonhashseed'])}</summary>"
            f"<p><b>Parameters</b></p><table>{rows}</table>"
            f"<p><b>Assets and user files used (sha256)</b></p><table>{assets_rows}"
            f"</table>{to_cite}<p><b>Packages</b>: {_html(', '.join(f'{k} {v}' for k, v in prov['packages'].items()))}"
            f"</p></details></div>")


def headlines_frame(results: Results):
    """The declared headlines as a table (one row per headline, labelled by its key)."""
    import pandas as pd

    rows = [{"key": h.key, "what": h.label, "value": h.value, "ci_low": h.ci[0] if h.ci else None,
             "ci_high": h.ci[1] if h.ci else None, "n": h.n, "training_seeds": h.seeds,
             "reference": f"{h.reference.kind} {fmt(h.reference.value)}" if h.reference else "",
             "flags": "; ".join(h.flags)} for h in results.headlines]
    return pd.DataFrame(rows, columns=["key", "what", "value", "ci_low", "ci_high", "n", "training_seeds",
                                       "reference", "flags"]).set_index("key")


def show(results: Results, cfg: Config | None = None) -> None:
    """The report's summary cells: status box, headlines, findings, differences from the papers, published
    numbers and provenance. The headlines and the published numbers are saved as tables too (CSV and LaTeX)."""
    if results.headlines:
        save_table(headlines_frame(results), "headlines", "Headline comparisons (95% bootstrap intervals)")
    if results.published is not None and len(results.published):
        save_table(results.published, "published", "Published numbers (the papers', not ours)")
    _display_html(status_box(results) + headlines_table(results) + findings_list(results) + notes_list(results)
                  + published_panel(results) + provenance_block(cfg))


def show_table(df, name: str, caption: str = "", reference: str = "") -> None:
    """Save a table as ``tables/<name>.csv`` and ``.tex`` and show it with its caption and reference level."""
    save_table(df, safe_name(name), f"{name}. {caption}" + (f" Reference: {reference}" if reference else ""))
    plain_index = not has_row_labels(df)
    cap = _html(caption) + (f" <i>Reference: {_html(reference)}</i>" if reference else "")
    _display_html(f"{_STYLE}<div><p style='font-family:sans-serif;font-size:13px'><b>{_html(name)}</b>. {cap}</p>"
                  f"{df.to_html(escape=True, index=not plain_index, float_format=lambda v: f'{v:.4g}')}</div>")
