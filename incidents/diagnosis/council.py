"""The Diagnostic Council: two models, two lenses, asked in parallel, and how their answers compare.

Model A reads the incident as a latency and database specialist, model B as a network and
dependency specialist. They agree only when both name the same category with a confidence at or
above the gate; two answers that differ are a dissent, shown side by side; when one model fails
the other's answer is a single opinion and is never presented as agreement.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from incidents.diagnosis import claude
from incidents.diagnosis.claude import ModelFailure, Theory, Turn

AGREE, DISSENT, SINGLE = "agree", "dissent", "single"


@dataclass(frozen=True)
class Attempt:
    """One model's part in a round: its theory, or why it has none."""

    role: str  # "single", "A" or "B"
    model: str
    prompt: str
    theory: Theory | None = None
    failure: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0


def attempt(*, role: str, model: str, lens: str | None, prompt: str, history: list[Turn],
            allowed_actions: tuple[str, ...]) -> Attempt:
    """Ask one model; a failure becomes an :class:`Attempt` with ``failure`` set, never an exception."""
    try:
        theory = claude.diagnose(model=model, lens=lens, prompt=prompt, history=history,
                                 allowed_actions=allowed_actions)
    except ModelFailure as exc:
        return Attempt(role=role, model=model, prompt=prompt, failure=exc.reason, input_tokens=exc.input_tokens,
                       output_tokens=exc.output_tokens)
    return Attempt(role=role, model=model, prompt=prompt, theory=theory, input_tokens=theory.input_tokens,
                   output_tokens=theory.output_tokens)


def convene(*, models: tuple[str, str], prompt: str, histories: tuple[list[Turn], list[Turn]],
            allowed_actions: tuple[str, ...]) -> tuple[Attempt, Attempt]:
    """Ask model A and model B at the same time; the slower one bounds the wait (both have the timeout)."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="council") as pool:
        futures = [
            pool.submit(attempt, role=role, model=model, lens=role, prompt=prompt, history=history,
                        allowed_actions=allowed_actions)
            for role, model, history in zip(("A", "B"), models, histories, strict=True)
        ]
        first, second = (future.result() for future in futures)
    return first, second


def agreement(a: Attempt, b: Attempt, *, gate: float) -> str | None:
    """``agree``, ``dissent``, ``single`` (one answered) or ``None`` (neither did)."""
    if a.theory and b.theory:
        same = a.theory.category == b.theory.category
        confident = a.theory.confidence >= gate and b.theory.confidence >= gate
        return AGREE if same and confident else DISSENT
    if a.theory or b.theory:
        return SINGLE
    return None
