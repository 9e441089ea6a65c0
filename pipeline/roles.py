"""Which diarized speaker is the agent: lexical cues, who speaks first and an optional voiceprint.

Each piece of evidence is a log-odds score that speaker A (rather than B) is the agent; the
sum goes through a logistic to a role confidence. Below ``RolesConfig.review_threshold`` the
call is marked ``needs_review`` so its deductions are not applied silently.

Stereo calls keep their channel mapping; :func:`check_stereo_roles` only flags a mapping
that the words contradict (a likely swapped ``agent_channel``).
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from pipeline.config import DiarizationConfig, RolesConfig
from pipeline.diarization.rttm import Diarization
from pipeline.errors import DiarizationError
from pipeline.types import RoleAssignment, Utterance

logger = logging.getLogger(__name__)

# Phrases agents are trained to say and customers almost never do (weights are log-odds).
AGENT_CUES: tuple[tuple[str, float], ...] = (
    ("有什么可以帮您", 3.0), ("有什么能帮您", 3.0), ("有什么可以帮你", 2.0), ("为您服务", 3.0),
    ("工号", 3.0), ("客服", 1.5), ("欢迎致电", 3.0), ("服务热线", 2.0), ("感谢您的来电", 3.0),
    ("感谢来电", 3.0), ("祝您", 2.0), ("还有其他", 1.5), ("还有什么可以", 2.0), ("请您稍等", 2.0),
    ("稍等", 1.0), ("耐心等待", 2.0), ("让您久等", 2.0), ("给您带来", 2.0), ("给您添", 2.0),
    ("理解您的心情", 2.0), ("帮您", 1.0), ("为您", 1.0), ("请问您", 1.5), ("我这边", 1.0),
    ("先生", 0.5), ("女士", 0.5), ("您的", 0.5),
)
# Things customers say about the company and their own problem.
CUSTOMER_CUES: tuple[tuple[str, float], ...] = (
    ("你们", 1.5), ("我要投诉", 2.0), ("我想", 0.7), ("我要", 0.7), ("我的", 0.5), ("谢谢你", 1.0),
    ("没有了", 1.0), ("怎么回事", 1.0), ("怎么办", 0.7), ("急死", 1.0), ("我刚", 0.5),
)
# Polite 您 against plain 你 is the strongest single signal in Mandarin service calls.
POLITE_WEIGHT = 0.4
PLAIN_WEIGHT = 0.4
_PLAIN_YOU = re.compile(r"你(?!们)")


def lexical_score(texts: list[str] | tuple[str, ...]) -> tuple[float, tuple[str, ...]]:
    """Agent-likeness of a speaker's text in log-odds units, with the cues that fired."""
    text = "".join(texts)
    score, hits = 0.0, []
    for phrase, weight in AGENT_CUES:
        n = text.count(phrase)
        if n:
            # Repeats add little: one greeting is the evidence, a script read twice is not twice the evidence.
            score += weight * (1 + 0.25 * (n - 1))
            hits.append(f"+{phrase}×{n}")
    for phrase, weight in CUSTOMER_CUES:
        n = text.count(phrase)
        if n:
            score -= weight * (1 + 0.25 * (n - 1))
            hits.append(f"-{phrase}×{n}")
    polite, plain = text.count("您"), len(_PLAIN_YOU.findall(text))
    # Greetings use 你好 on both sides, so plain 你 counts only beyond one greeting.
    if "你好" in text:
        plain = max(0, plain - 1)
    score += POLITE_WEIGHT * min(polite, 8) - PLAIN_WEIGHT * min(plain, 8)
    if polite or plain:
        hits.append(f"您×{polite}/你×{plain}")
    return score, tuple(hits)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))


def _speaker_order(utterances: tuple[Utterance, ...]) -> list[str]:
    """Speaker labels by total speech (most first); ties broken by first appearance."""
    first: dict[str, int] = {}
    total: dict[str, float] = {}
    for i, u in enumerate(utterances):
        first.setdefault(u.speaker, i)
        total[u.speaker] = total.get(u.speaker, 0.0) + u.duration_s
    return sorted(total, key=lambda s: (-total[s], first[s]))


def _first_speaker(utterances: tuple[Utterance, ...]) -> str | None:
    """Who opens the call; fillers (嗯, 喂) before the real opening do not count."""
    for u in sorted(utterances, key=lambda u: u.start_s):
        content = re.sub(r"[\W喂嗯啊哦呃]", "", u.text)
        if len(content) >= 2:
            return u.speaker
    return None


def _role_logit(
    utterances: tuple[Utterance, ...], a: str, b: str | None, cfg: RolesConfig,
    voice_logit: float = 0.0, voice_note: str = "",
) -> tuple[float, list[str]]:
    """Log-odds that label ``a`` is the agent (and ``b`` the customer)."""
    texts = {a: [u.text for u in utterances if u.speaker == a]}
    score_a, hits_a = lexical_score(texts[a])
    evidence = [f"lexical {a}: {score_a:+.1f} ({' '.join(hits_a) or 'no cues'})"]
    logit = cfg.lexical_scale * score_a
    if b is not None:
        score_b, hits_b = lexical_score([u.text for u in utterances if u.speaker == b])
        logit -= cfg.lexical_scale * score_b
        evidence.append(f"lexical {b}: {score_b:+.1f} ({' '.join(hits_b) or 'no cues'})")
    first = _first_speaker(utterances)
    if first is not None:
        logit += cfg.first_speaker_logit if first == a else -cfg.first_speaker_logit
        evidence.append(f"first speaker: {first}")
    if voice_note:
        logit += voice_logit
        evidence.append(voice_note)
    return logit, evidence


def _voiceprint_logit(
    utterances: tuple[Utterance, ...], a: str, b: str, audio, agent_id: str | None, cfg: RolesConfig
) -> tuple[float, str]:
    """Log-odds from comparing each speaker's voice with the agent's enrolled voiceprint."""
    if audio is None or agent_id is None or cfg.voiceprints_dir is None:
        return 0.0, ""
    enrolled = load_voiceprint(cfg.voiceprints_dir, agent_id)
    if enrolled is None:
        return 0.0, ""
    from pipeline.diarization.offline import embed_spans  # late: loads torch + resemblyzer

    sims = {}
    for label in (a, b):
        spans = [(u.start_s, u.end_s) for u in utterances if u.speaker == label]
        emb = embed_spans(audio.mono(), audio.sample_rate, spans)
        if emb is None:
            return 0.0, ""
        sims[label] = float(np.dot(emb, enrolled))
    logit = cfg.voiceprint_scale * (sims[a] - sims[b])
    return logit, f"voiceprint {agent_id}: {a} {sims[a]:.2f} vs {b} {sims[b]:.2f}"


def load_voiceprint(directory: Path, agent_id: str) -> np.ndarray | None:
    """The enrolled agent embedding from ``<dir>/<agent_id>.npy`` (or computed from ``.wav``)."""
    directory = Path(directory)
    npy, wav = directory / f"{agent_id}.npy", directory / f"{agent_id}.wav"
    if npy.exists():
        emb = np.load(npy).astype(np.float32).reshape(-1)
    elif wav.exists():
        from pipeline.audio import decode_audio
        from pipeline.diarization.offline import embed_spans

        audio = decode_audio(wav)
        emb = embed_spans(audio.mono(), audio.sample_rate, [(0.0, audio.duration_s)])
        if emb is None:
            raise DiarizationError(f"{wav}: enrolled voice sample has no speech; record at least 5 s of the agent")
    else:
        logger.debug("no voiceprint for %s in %s", agent_id, directory)
        return None
    norm = float(np.linalg.norm(emb))
    if emb.shape != (256,) or norm == 0:
        raise DiarizationError(
            f"{npy}: expected a non-zero 256-d resemblyzer embedding, found shape {emb.shape}; "
            "re-enrol with `callqa enrol-voice` or provide a WAV sample instead"
        )
    return emb / norm


def enrol_voiceprint(recordings: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """One unit-length agent embedding from (16 kHz samples, sample rate) recordings of the agent alone.

    Use the agent channel of the agent's stereo calls, or a clean enrolment sample.
    """
    from pipeline.diarization.offline import embed_spans, speech_probabilities, speech_regions

    embeddings = []
    for samples, rate in recordings:
        spans = speech_regions(speech_probabilities(samples), DiarizationConfig())
        emb = embed_spans(samples, rate, spans)
        if emb is not None:
            embeddings.append(emb)
    if not embeddings:
        raise DiarizationError("no speech found in the enrolment recordings; pass recordings where the agent speaks")
    mean = np.mean(embeddings, axis=0)
    return (mean / np.linalg.norm(mean)).astype(np.float32)


def save_voiceprint(embedding: np.ndarray, directory: Path, agent_id: str) -> Path:
    """Write ``<directory>/<agent_id>.npy`` where :func:`load_voiceprint` looks for it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{agent_id}.npy"
    np.save(path, np.asarray(embedding, dtype=np.float32))
    return path


def assign_roles(
    utterances: tuple[Utterance, ...] | list[Utterance], *, audio=None, agent_id: str | None = None,
    cfg: RolesConfig,
) -> tuple[tuple[Utterance, ...], RoleAssignment]:
    """Map diarized speaker labels to ``agent``/``customer`` with a confidence.

    Returns new utterances (words relabelled too) and the :class:`RoleAssignment`.
    """
    utterances = tuple(utterances)
    labels = _speaker_order(utterances)
    if not labels:
        return utterances, RoleAssignment(confidence=0.0, method="diarization", needs_review=True,
                                          evidence=("no speech",))
    if len(labels) == 1:
        a = labels[0]
        logit, evidence = _role_logit(utterances, a, None, cfg)
        # One voice only: whoever it is, the other party is missing, which a reviewer should know.
        role = "agent" if logit >= 0 else "customer"
        confidence = min(_sigmoid(abs(logit)), 0.5 + 0.5 * (cfg.review_threshold - 0.5))
        mapping = {a: role}
        evidence.insert(0, f"only one speaker found; {a}={role}")
    else:
        a, b = labels[0], labels[1]
        voice_logit, voice_note = _voiceprint_logit(utterances, a, b, audio, agent_id, cfg)
        logit, evidence = _role_logit(utterances, a, b, cfg, voice_logit, voice_note)
        p_a = _sigmoid(logit)
        agent = a if p_a >= 0.5 else b
        mapping = {a: "agent" if agent == a else "customer", b: "customer" if agent == a else "agent"}
        confidence = max(p_a, 1 - p_a)
        # Any further cluster is a minority voice (hold music, a third party): give it to the customer side.
        for extra in labels[2:]:
            mapping[extra] = "customer"
            evidence.append(f"extra speaker {extra} attributed to customer")
        evidence.insert(0, f"{agent}=agent")
    needs_review = confidence < cfg.review_threshold
    method = "diarization+lexical" + ("+voiceprint" if any(e.startswith("voiceprint") for e in evidence) else "")
    relabelled = tuple(
        replace(u, speaker=mapping.get(u.speaker, u.speaker),
                words=tuple(replace(w, speaker=mapping.get(w.speaker, w.speaker)) for w in u.words))
        for u in utterances
    )
    logger.debug("roles: %s confidence %.2f", mapping, confidence)
    return relabelled, RoleAssignment(confidence=round(confidence, 4), method=method,
                                      needs_review=needs_review, evidence=tuple(evidence))


def check_stereo_roles(utterances: tuple[Utterance, ...] | list[Utterance], cfg: RolesConfig) -> RoleAssignment:
    """Keep the channel mapping, but flag it for review when the words say it is swapped."""
    utterances = tuple(utterances)
    has = {u.speaker for u in utterances}
    if not {"agent", "customer"} <= has:
        return RoleAssignment(confidence=1.0, method="channel", needs_review=False,
                              evidence=(f"speakers present: {sorted(has)}; mapping not checked",))
    logit, evidence = _role_logit(utterances, "agent", "customer", cfg)
    confidence = _sigmoid(cfg.stereo_mapping_logit + logit)
    needs_review = confidence < cfg.review_threshold
    if needs_review:
        evidence.insert(0, "channel mapping looks swapped: the customer channel sounds like the agent; "
                           "check agent_channel in the manifest")
    return RoleAssignment(confidence=round(confidence, 4), method="channel", needs_review=needs_review,
                          evidence=tuple(evidence))


def attribute_mono(
    audio, utterances: tuple[Utterance, ...] | list[Utterance], diarizer, *, agent_id: str | None,
    diar_cfg: DiarizationConfig, roles_cfg: RolesConfig, pause_s: float,
) -> tuple[tuple[Utterance, ...], RoleAssignment, Diarization]:
    """Diarize a mono call, give words to speakers and speakers to roles.

    The returned diarization is relabelled ``agent``/``customer`` to match the utterances.
    """
    from pipeline.align import assign_word_speakers
    from pipeline.diarize import diarize

    diarization = diarize(audio, diarizer, diar_cfg)
    labelled = assign_word_speakers(utterances, diarization, pause_s=pause_s)
    with_roles, roles = assign_roles(labelled, audio=audio, agent_id=agent_id, cfg=roles_cfg)
    mapping = {}
    for before, after in zip(labelled, with_roles):
        mapping.setdefault(before.speaker, after.speaker)
    # Diarized speakers without any words still need a role in the RTTM.
    for label in diarization.speakers:
        mapping.setdefault(label, "customer" if "agent" in mapping.values() else "agent")
    return with_roles, roles, diarization.relabel(mapping)
