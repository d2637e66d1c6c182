"""The final report of an experiment: what each stage produced, printed and saved as report.md."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from swegym.core.experiment_runner import ExperimentRunner
from swegym.core.filtering import is_resolved
from swegym.core.store import TrajectoryStore


def experiment_report(runner: ExperimentRunner) -> list[tuple[str, list[str]]]:
    """Sections of (title, lines) from the stages' products, in stage order."""
    sections: list[tuple[str, list[str]]] = []
    rollouts = []
    for stage in runner.experiment.stages:
        record = runner.records.get(stage.name)
        if record is None or record.status != "done" or not record.product:
            continue
        product = Path(record.product)
        if stage.type == "rollout":
            rollouts.append(_rollout_row(stage.name, product))
        elif stage.type == "filter":
            sections.append((f"{stage.name} (filter)", _bullets(_filter_lines(product))))
        elif stage.type == "train-grpo":
            sections.append((f"{stage.name} (GRPO)", _bullets(_grpo_lines(product, record.seconds))))
        elif stage.type in ("train", "train-verifier"):
            sections.append((f"{stage.name} ({stage.type})", _bullets(_train_lines(product, record.seconds))))
        elif stage.type == "verify":
            sections.append((f"{stage.name} (verify)", _bullets(_verify_lines(product, Path(record.argv[-1])))))
        elif stage.type == "rerank":
            sections.append((f"{stage.name} (Best@k)", _rerank_lines(product)))
    if rollouts:
        lines = ["| run | agent | model | trajectories | resolved | expert |", "|---|---|---|---:|---:|---:|"]
        lines += [f"| {r['run']} | {r['agent']} | {r['model']} | {r['n']} | {r['resolved']} ({r['rate']:.0f}%) | {r['expert']} |" for r in rollouts]
        sections.insert(0, ("rollouts (graded by running the tests)", lines))
    return sections


def _bullets(lines: list[str]) -> list[str]:
    return [f"- {line}" for line in lines]


def _rollout_row(name: str, run: Path) -> dict[str, Any]:
    n = resolved = expert = 0
    agent = model = ""
    for record in _records(run / "trajectories.jsonl"):
        n += 1
        resolved += is_resolved(record)
        expert += bool(record.get("expert"))
        agent, model = record.get("agent", ""), _model_label(str(record.get("model", "")))
    return {"run": name, "agent": agent, "model": model, "n": n, "resolved": resolved, "rate": 100 * resolved / n if n else 0.0, "expert": expert}


def _model_label(model: str) -> str:
    """A model path's last part (``sft/merged`` for a merged LoRA model)."""
    path = Path(model)
    return f"{path.parent.name}/{path.name}" if path.name == "merged" else path.name


def _records(path: Path) -> Iterator[dict]:
    return TrajectoryStore(path).records() if path.exists() else iter(())


def _filter_lines(product: Path) -> list[str]:
    report = product.with_name(product.stem + ".report.json")
    if not report.exists():
        return [f"kept: {product}"]
    data = json.loads(report.read_text())
    removed = ", ".join(f"{name} -{count}" for name, count in data["removed"].items())
    return [f"kept {data['records_out']} of {data['records_in']} trajectories ({data['instances_out']} instances); removed: {removed}"]


def _train_lines(product: Path, seconds: float | None) -> list[str]:
    directory = product.parent if product.name == "merged" else product
    lines = []
    data_file = directory / "verifier_data.jsonl"
    if data_file.exists():
        labels = [_judgement(json.loads(line)) for line in data_file.read_text().splitlines() if line.strip()]
        lines.append(f"verifier data: {labels.count('YES')} YES, {labels.count('NO')} NO")
    result = directory / "train_result.json"
    if result.exists():
        data = json.loads(result.read_text())
        losses = data.get("losses") or []
        loss = f"loss {losses[0]:.3f} -> {losses[-1]:.3f}" if losses else "no loss logged"
        merged = (directory / "merged").is_dir()
        kind = ("LoRA, merged" if merged else "LoRA adapter") if data.get("adapter") else "full"
        took = f" in {seconds:.0f}s" if seconds else ""
        lines.append(f"{data.get('steps')} steps ({kind}){took}: {loss}")
        lines.append(f"peak memory {_gb(data.get('peak_rss_mb'))}, disk {_mb(data.get('disk_mb'))}")
    lines.append(f"model: {product}")
    return lines


def _grpo_lines(product: Path, seconds: float | None) -> list[str]:
    result = product / "train_result.json"
    if not result.exists():
        return [f"model: {product}"]
    data = json.loads(result.read_text())
    metrics = data.get("metrics") or {}
    rewards, stds, kls = (metrics.get(key) or [] for key in ("reward_per_step", "reward_std_per_step", "kl_per_step"))
    took = f" in {seconds:.0f}s" if seconds else ""
    lines = [f"{data.get('steps')} steps, {metrics.get('episodes', '?')} episodes{took}"]
    if rewards:
        lines.append("reward mean (std) per step: " + ", ".join(
            f"{r:.2f} ({s:.2f})" for r, s in zip(rewards, stds or [0.0] * len(rewards))))
    if kls:
        lines.append("KL per step: " + ", ".join(f"{k:.4f}" for k in kls))
    lines.append(f"peak memory {_gb(data.get('peak_rss_mb'))}, disk {_mb(data.get('disk_mb'))}")
    plot = reward_plot(product, rewards, stds)
    if plot is not None:
        lines.append(f"reward curve: {plot}")
    return [*lines, f"model: {product}"]


def reward_plot(directory: Path, rewards: list[float], stds: list[float]) -> Path | None:
    """``directory/reward.png``: the reward mean per step with a ±std band (needs matplotlib)."""
    if not rewards:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    steps = list(range(1, len(rewards) + 1))
    stds = stds if len(stds) == len(rewards) else [0.0] * len(rewards)
    figure, axes = plt.subplots(figsize=(5, 3))
    axes.plot(steps, rewards, marker="o", label="reward mean")
    axes.fill_between(steps, [r - s for r, s in zip(rewards, stds)], [r + s for r, s in zip(rewards, stds)], alpha=0.2, label="± std")
    axes.set_xlabel("step")
    axes.set_ylabel("reward (resolved)")
    axes.set_ylim(-0.05, 1.05)
    axes.legend()
    figure.tight_layout()
    path = directory / "reward.png"
    figure.savefig(path)
    plt.close(figure)
    return path


def _gb(mb: float | None) -> str:
    return "not recorded" if mb is None else f"{mb / 1024:.2f} GB"


def _mb(mb: float | None) -> str:
    return "not recorded" if mb is None else f"{mb:.0f} MB"


def _judgement(example: Mapping[str, Any]) -> str:
    completion = example.get("completion") or []
    text = completion[-1]["content"] if isinstance(completion, list) and completion else str(completion)
    return "YES" if "YES" in text else "NO"


def _verify_lines(product: Path, run: Path) -> list[str]:
    from swegym.core.rerank import read_scores

    scores = read_scores(product) if product.exists() else {}
    if not scores:
        return [f"scores: {product}"]
    values = list(scores.values())
    lines = [f"{len(scores)} trajectories scored, p(YES) from {min(values):.3f} to {max(values):.3f}"]
    path = run / "trajectories.jsonl" if run.is_dir() else run
    graded = [(scores[key], is_resolved(r)) for r in _records(path) if (key := (r["instance_id"], int(r["sample_index"]))) in scores]
    good = [score for score, resolved in graded if resolved]
    bad = [score for score, resolved in graded if not resolved]
    if good and bad:
        above = sum(1.0 if g > b else 0.5 if g == b else 0.0 for g in good for b in bad)
        lines.append(
            f"mean p(YES): resolved {sum(good) / len(good):.3f}, unresolved {sum(bad) / len(bad):.3f}; "
            f"a resolved trajectory outranks an unresolved one in {above:g} of {len(good) * len(bad)} pairs"
        )
    return [*lines, f"scores: {product}"]


def _rerank_lines(product: Path) -> list[str]:
    data_file = product / "rerank.json"
    if not data_file.exists():
        return [f"see {product}"]
    data = json.loads(data_file.read_text())
    lines = ["| k | Pass@k % | Pass@k unbiased % | Best@k % |", "|---:|---:|---:|---:|"]
    for row in data.get("rows", []):
        unbiased = _rate(row["pass_at_k_unbiased"]) if "pass_at_k_unbiased" in row else "-"
        lines.append(f"| {row['k']} | {_rate(row['pass_at_k'])} | {unbiased} | {_rate(row['best_at_k'])} |")
    plot = product / "rerank.png"
    if plot.exists():
        lines += ["", f"plot: {plot}"]
    return lines


def _rate(rate: Any) -> str:
    if isinstance(rate, Mapping):
        return f"{rate['mean']:.1f}"
    return str(rate)


def print_report(app, runner: ExperimentRunner, *, elapsed: float) -> Path:
    """Print the report and save it as ``<experiment>/report.md``; returns that path."""
    from rich.markdown import Markdown

    sections = experiment_report(runner)
    total = sum(record.seconds or 0.0 for record in runner.records.values())
    text = [
        f"# {runner.experiment.name}: report", "",
        f"{len(runner.records)} stages, {total / 60:.1f} min of stage time ({elapsed / 60:.1f} min in this run); "
        f"manifest: {runner.manifest_path}", "",
    ]
    for title, lines in sections:
        text += [f"## {title}", "", *lines, ""]
    text += [
        "Expert trajectories were written from the gold patches and replayed through the real scaffolds "
        "(labelled expert); every other trajectory is the policy's own generation. Reranking ran on held-out "
        "instances that neither SFT nor the verifier saw.",
    ]
    report = runner.out / "report.md"
    report.write_text("\n".join(text) + "\n")
    app.console.print(Markdown("\n".join(text)))
    plot = runner.out / "rerank" / "rerank.png"
    app.console.print(f"report: {report}")
    if plot.exists():
        app.console.print(f"plot: {plot}")
    return report
