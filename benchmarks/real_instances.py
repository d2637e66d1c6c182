"""Real SWE-Gym Lite instances end to end, from a folder of git mirrors: the table of docs/real-repositories.md.

    python benchmarks/real_instances.py --mirrors DIR [--repo getmoto/moto ...] [--runtime docker]
        [--work runs/real] [--per-repo 2] [--timeout 1800]

DIR (or ``$SWEGYM_MIRRORS``) holds one git clone per repository, named ``owner__name``,
``name`` or ``owner+name/repo`` (``git clone --mirror https://github.com/OWNER/NAME DIR/OWNER__NAME``).
For each repository, the first ``--per-repo`` instances of ``REAL_INSTANCES`` (SWE-Gym Lite
ids; the number is the pull request) go through exactly what a user types:

    swegym mine --repo-path MIRROR --repo OWNER/NAME --pr N --out I.jsonl
    swegym env build --dataset I.jsonl --runtime docker
    swegym validate --dataset I.jsonl --runtime docker --out I.valid.jsonl
    swegym eval --dataset I.valid.jsonl --predictions gold --runtime docker --run-id real-gold
    swegym eval --dataset I.valid.jsonl --predictions noop.jsonl --runtime docker --run-id real-noop

The no-op prediction adds a comment to the first file the gold patch changes (it applies and
changes nothing, so it must not resolve). Each step's time, the environment's Python
(requested and used), install notes, image size and the grades go to a Markdown table
(stdout and ``WORK/real-instances.md``) and ``WORK/real-instances.json``. A repository
whose mirror is absent is listed as skipped, with the path looked for.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

# Two Lite instances per repository (the first ones tried; later ones are spares).
REAL_INSTANCES = {
    "conan-io/conan": [13788, 11560, 14296],
    "getmoto/moto": [5752, 6178, 5865],
    "facebookresearch/hydra": [2189, 1783, 1915],
    "iterative/dvc": [5822, 4785, 3677],
    "python/mypy": [15184, 10392, 11966],
    "pydantic/pydantic": [8500, 6104, 9066],
    "bokeh/bokeh": [13289],
    "dask/dask": [8597, 6626, 7894],
    "Project-MONAI/MONAI": [4688, 3715, 3326],
    "modin-project/modin": [5940, 6780, 6400],
    "pandas-dev/pandas": [56849, 53958, 48106],  # its 1.5 GB history was not reachable where the docs' table was made
}
MIRRORS_ENV = "SWEGYM_MIRRORS"
BOX_DRAWING = str.maketrans({ch: " " for ch in "│┃┌┐└┘├┤┬┴┼─━╭╮╯╰"})


def find_mirror(mirrors: Path, repo: str) -> Path | None:
    owner, _, name = repo.partition("/")
    for candidate in (mirrors / f"{owner}__{name}", mirrors / name, mirrors / f"{owner}+{name}" / "repo",
                      mirrors / f"{owner}__{name}.git", mirrors / f"{name}.git"):
        if (candidate / "HEAD").is_file() or (candidate / ".git").exists():
            return candidate
    return None


def git_mirror_dir(mirrors: Path, work: Path) -> Path:
    """A ``SWEGYM_GIT_MIRROR`` folder (``owner__name`` links) over whatever layout ``mirrors`` has."""
    linked = work / "git-mirror"
    linked.mkdir(parents=True, exist_ok=True)
    for repo in REAL_INSTANCES:
        found = find_mirror(mirrors, repo)
        link = linked / repo.replace("/", "__")
        if found and not link.exists():
            link.symlink_to(found.resolve())
    return linked


def swegym(*args: str, env: dict[str, str], log: Path) -> tuple[int, float, str]:
    """Run one ``swegym`` command (niced), appending its output to ``log``; (exit code, seconds, output tail)."""
    began = time.monotonic()
    result = subprocess.run(
        ["nice", sys.executable, "-m", "swegym", *args], capture_output=True, text=True, env=env
    )
    elapsed = time.monotonic() - began
    with log.open("a") as handle:
        handle.write(f"$ swegym {' '.join(args)}\n{result.stdout}{result.stderr}\n# exit {result.returncode} in {elapsed:.0f} s\n\n")
    return result.returncode, elapsed, _tail(result.stdout + result.stderr)


def _tail(output: str, lines: int = 4) -> str:
    """The last lines that say something: table borders dropped, cells squeezed."""
    kept = []
    for line in output.splitlines():
        text = " ".join(line.translate(BOX_DRAWING).split())
        if any(ch.isalnum() for ch in text):
            kept.append(text)
    return " / ".join(kept[-lines:])


def noop_prediction(instance: dict, mirror: Path) -> dict:
    """A patch adding one comment line at the top of the first file of the gold patch that exists at the base."""
    paths = [line.split(" b/", 1)[1] for line in instance["patch"].splitlines() if line.startswith("diff --git ")]
    for path in sorted(paths, key=lambda p: not p.endswith(".py")):  # a Python file first: "#" is a comment there
        shown = subprocess.run(["git", "-C", str(mirror), "show", f"{instance['base_commit']}:{path}"], capture_output=True, text=True)
        if shown.returncode == 0:
            break
    else:
        raise SystemExit(f"{instance['instance_id']}: no file of the gold patch exists at the base commit")
    old = shown.stdout.splitlines(keepends=True)
    comment = "// swegym no-op: a comment changes nothing\n" if path.endswith((".ts", ".js")) else "# swegym no-op: a comment changes nothing\n"
    diff = "".join(difflib.unified_diff(old, [comment, *old], f"a/{path}", f"b/{path}", n=3))
    return {"instance_id": instance["instance_id"], "model_name_or_path": "noop", "model_patch": f"diff --git a/{path} b/{path}\n{diff}"}


def environment_facts(instance_file: Path, runtime: str, options: list[str]) -> dict:
    """Python requested/used, build notes and image size of the instance's built environment."""
    from swegym import Components, get_plugin_manager, load_instances

    components = Components(get_plugin_manager())
    [instance] = load_instances(instance_file)
    repo = components["repositories"].get(instance.repo)
    settings = dict(option.removeprefix("runtime.").split("=", 1) for option in options)
    runtime_obj = components["runtimes"].create(runtime, settings)
    facts = {"version": instance.version, "python_requested": repo.environment(instance.version).python or "-"}
    try:
        environment = runtime_obj.environment(repo, instance, build=False)
    except Exception:  # noqa: BLE001 - the build log says why, in the table
        log = runtime_obj.environment_dir(repo, instance.version) / "build.log"
        return {**facts, "build_log": str(log), "build_cause": build_cause(log)}
    facts.update(python_used=environment.python, notes="; ".join(environment.notes), location=environment.location)
    if runtime == "docker":
        size = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", environment.location], capture_output=True, text=True)
        facts["image_mb"] = round(int(size.stdout.strip()) / 1e6) if size.returncode == 0 else None
    return facts


def build_cause(log: Path) -> str:
    """The failing step and the error lines just before it, from a build log."""
    if not log.exists():
        return f"no build log at {log}"
    lines = log.read_text(errors="replace").splitlines()
    failed = max((i for i, line in enumerate(lines) if line.startswith("swegym: failed step")), default=len(lines))
    errors = [line.strip() for line in lines[max(0, failed - 40):failed] if "rror" in line or "fatal" in line]
    return " / ".join([*errors[-3:], *(lines[failed:failed + 1])])[:600]


def grade(summary_dir: Path, instance_id: str) -> str:
    summaries = sorted(summary_dir.glob("*.json"))
    if not summaries:
        return "no summary"
    data = json.loads(summaries[-1].read_text())
    for key, label in (("resolved_ids", "resolved"), ("unresolved_ids", "unresolved"), ("error_ids", "error"), ("empty_patch_ids", "empty")):
        if instance_id in data.get(key, []):
            return label
    return "not graded"


def run_instance(repo: str, number: int, mirror: Path, args: argparse.Namespace, env: dict[str, str]) -> dict:
    slug = f"{repo.replace('/', '__')}-{number}"
    folder = args.work / slug
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "commands.log"
    row: dict = {"repo": repo, "instance_id": slug}
    mined, valid = folder / "instance.jsonl", folder / "instance.valid.jsonl"
    code, row["mine_s"], tail = swegym("mine", "--repo-path", str(mirror), "--repo", repo, "--pr", str(number), "--out", str(mined), env=env, log=log)
    if code:
        return {**row, "failure": f"mine: {tail}"}
    options = [item for option in args.options for item in ("-o", option)]
    code, row["build_s"], tail = swegym("env", "build", "--dataset", str(mined), "--runtime", args.runtime, *options, env=env, log=log)
    row.update(environment_facts(mined, args.runtime, args.options))
    if code:
        return {**row, "failure": f"env build: {row.get('build_cause') or tail}"}
    code, row["validate_s"], tail = swegym(
        "validate", "--dataset", str(mined), "--runtime", args.runtime, *options, "--out", str(valid),
        "--timeout", str(args.timeout), env=env, log=log,
    )
    if code:
        return {**row, "failure": f"validate: {tail}"}
    [instance] = [json.loads(line) for line in valid.read_text().splitlines() if line.strip()]
    row["fail_to_pass"], row["pass_to_pass"] = len(instance["FAIL_TO_PASS"]), len(instance["PASS_TO_PASS"])
    noop = folder / "noop.jsonl"
    noop.write_text(json.dumps(noop_prediction(instance, mirror)) + "\n")
    for label, predictions in (("gold", "gold"), ("noop", str(noop))):
        out = folder / f"eval-{label}"
        code, row[f"{label}_s"], tail = swegym(
            "eval", "--dataset", str(valid), "--predictions", predictions, "--runtime", args.runtime, *options,
            "--run-id", f"real-{label}", "--out", str(out), "--timeout", str(args.timeout), env=env, log=log,
        )
        row[label] = grade(out, slug) if code == 0 else f"eval failed: {tail}"
    return row


def markdown(rows: list[dict]) -> str:
    columns = ["instance_id", "version", "python_requested", "python_used", "notes", "build_s", "image_mb",
               "validate_s", "fail_to_pass", "pass_to_pass", "gold", "gold_s", "noop", "noop_s", "failure"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column, "")
            cells.append(f"{value:.0f}" if isinstance(value, float) else str(value).replace("|", "\\|").replace("\n", " "))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, default=os.environ.get(MIRRORS_ENV), help=f"folder of git mirrors (default ${MIRRORS_ENV})")
    parser.add_argument("--repo", action="append", help="only these repositories (owner/name); default all ten")
    parser.add_argument("--runtime", default="docker")
    parser.add_argument("--work", type=Path, default=Path("runs/real"))
    parser.add_argument("--per-repo", type=int, default=2)
    parser.add_argument("--instance", action="append", default=[], metavar="OWNER/NAME:N",
                        help="run these pull requests instead of REAL_INSTANCES' first --per-repo")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds one test run may take")
    parser.add_argument("-o", "--option", dest="options", action="append", default=[], metavar="runtime.KEY=VALUE",
                        help="runtime option passed to env build, validate and eval")
    args = parser.parse_args()
    if not args.mirrors:
        parser.error(f"give --mirrors or set {MIRRORS_ENV}")
    args.work.mkdir(parents=True, exist_ok=True)
    args.work = args.work.resolve()
    env = {**os.environ, "SWEGYM_GIT_MIRROR": str(git_mirror_dir(args.mirrors, args.work))}
    results_file = args.work / "real-instances.json"
    rows = json.loads(results_file.read_text()) if results_file.exists() else []
    done = {row["instance_id"] for row in rows if "failure" not in row}
    chosen = {}
    for item in args.instance:
        repo, _, number = item.rpartition(":")
        chosen.setdefault(repo, []).append(int(number))
    for repo in chosen or args.repo or list(REAL_INSTANCES):
        mirror = find_mirror(args.mirrors, repo)
        if mirror is None:
            owner, _, name = repo.partition("/")
            print(f"{repo}: skipped, no mirror in {args.mirrors} (looked for {owner}__{name}, {name}, {owner}+{name}/repo)")
            continue
        for number in chosen.get(repo) or REAL_INSTANCES[repo][: args.per_repo]:
            slug = f"{repo.replace('/', '__')}-{number}"
            if slug in done:
                continue
            row = run_instance(repo, number, mirror, args, env)
            rows = [r for r in rows if r["instance_id"] != slug] + [row]
            results_file.write_text(json.dumps(rows, indent=1))
            print(json.dumps(row), flush=True)
    table = markdown(rows)
    (args.work / "real-instances.md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
