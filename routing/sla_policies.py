"""SLA policies as data: the time limits for 签收 (sign for), 办结 (handle) and 核实 (verify) per category
(exact matter code) or category group (code prefix) × grade, in the `sla_policy` table.

Versioned: `save_policy` adds the next version of a policy and deactivates the one before, so a clock that
started on a version keeps it (the clock row and the case record code and version). Seeded from
routing/data/sla_policies.yaml into an empty table; `hotline sla import FILE --note` brings a city's file in
(a new version for every entry that changed, the ones it no longer names retired).

Which policy applies (`policy_for`, pure): an exact category code beats the longest matching prefix, which
beats the default; at the same level a row for the grade beats a row without one. A grade without a row of
its own takes the level's 签收 and 办结 limits scaled by `GRADE_FACTORS` (urgent 1/2, critical 1/4 of the
row without a grade; of the nearest lower grade's row by the ratio of the factors; or the nearest higher
grade's row as it is), so the next grade always has a shorter limit unless a row says otherwise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import yaml
from sqlalchemy import func
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from cases import providers
from cases.db import session_scope
from cases.models import utcnow
from cases.reference import InvalidInput, ReferenceCodes, actor_id, reference_codes
from routing.models import SlaPolicy
from routing.rules import GRADES
from routing.settings import routing_settings
from routing.sla import UNITS, TimeLimit, Unit

DEFAULT_POLICIES = Path(__file__).parent / "data" / "sla_policies.yaml"
DEFAULT_CODE = "default"
# 签收 and 办结 limits of a grade without a row of its own, relative to the row without a grade.
GRADE_FACTORS: dict[str, float] = {"normal": 1.0, "urgent": 0.5, "critical": 0.25}
LIMIT_KINDS = ("sign", "handle", "verify")
EDITABLE = frozenset(
    {"name", "category_code", "category_prefix", "grade", "require_photo", "active"}
    | {f"{k}_{part}" for k in LIMIT_KINDS for part in ("amount", "unit")}
)


class PolicyError(InvalidInput):
    """A policy (or a policies file) that cannot be used: the message says which and why."""


@dataclass(frozen=True)
class Policy:
    """One version of a policy, or (from `policy_for`) the limits it gives a grade: `grade` is then the
    grade asked for and `scale` what the row's 签收/办结 limits were multiplied by."""

    code: str
    version: int
    sign: TimeLimit
    handle: TimeLimit
    verify: TimeLimit
    name: str = ""
    category_code: str | None = None
    category_prefix: str | None = None
    grade: str | None = None
    require_photo: bool = False
    scale: float = 1.0

    @property
    def level(self) -> tuple[int, int]:
        """How specific the row is: exact code (2), prefix (1, by its length), default (0)."""
        if self.category_code is not None:
            return (2, len(self.category_code))
        if self.category_prefix is not None:
            return (1, len(self.category_prefix))
        return (0, 0)

    def matches(self, category_code: str | None) -> bool:
        if self.category_code is not None:
            return category_code == self.category_code
        if self.category_prefix is not None:
            return category_code is not None and category_code.startswith(self.category_prefix)
        return True

    def limit(self, kind: str) -> TimeLimit:
        limit: TimeLimit = getattr(self, kind)
        return limit


# What a case gets when the table has no default row (an empty table before seeding, a test database):
# the shipped default's figures.
BUILTIN_DEFAULT = Policy(
    code=DEFAULT_CODE,
    version=0,
    name="默认时限",
    sign=TimeLimit(1, "working_hours"),
    handle=TimeLimit(2, "working_days"),
    verify=TimeLimit(1, "working_days"),
)


@dataclass(frozen=True)
class PolicyBook:
    """The active policies (one version per code)."""

    policies: tuple[Policy, ...] = ()
    default: Policy = field(default=BUILTIN_DEFAULT)


def next_grade(grade: str | None) -> str:
    """One grade up (一般 → 紧急 → 特急); 特急 stays 特急."""
    order = list(GRADES)
    g = grade if grade in order else "normal"
    return order[min(order.index(g) + 1, len(order) - 1)]


def _scaled(limit: TimeLimit, factor: float) -> TimeLimit:
    return limit if factor == 1 else TimeLimit(limit.amount * factor, limit.unit)


def limits_for_grade(row: Policy, grade: str | None) -> Policy:
    """The limits `row` gives a case of `grade` (pure): as written when the row is for that grade;
    otherwise the 签收 and 办结 limits scaled by the ratio of the grade factors (never lengthened from a
    row of a stricter grade)."""
    g = grade if grade in GRADE_FACTORS else "normal"
    base = row.grade or "normal"
    factor = 1.0 if row.grade == g else min(GRADE_FACTORS[g] / GRADE_FACTORS[base], 1.0)
    return replace(row, grade=g, sign=_scaled(row.sign, factor), handle=_scaled(row.handle, factor), scale=factor)


def _grade_rank(row_grade: str | None, grade: str) -> tuple[int, int]:
    """Which row of one level serves `grade` best: its own, then no grade, then the nearest lower grade,
    then the nearest higher one."""
    if row_grade == grade:
        return (0, 0)
    if row_grade is None:
        return (1, 0)
    distance = GRADES.index(grade) - GRADES.index(row_grade)
    return (2, distance) if distance > 0 else (3, -distance)


def policy_for(book: PolicyBook, category_code: str | None, grade: str | None) -> Policy:
    """The limits for a case of this category and grade (pure). Exact code beats the longest prefix beats
    the default; within the level, the grade's own row beats the row without a grade (see the module)."""
    g = grade if grade in GRADE_FACTORS else "normal"
    candidates = [p for p in book.policies if p.category_code or p.category_prefix]
    candidates = [p for p in candidates if p.matches(category_code)]
    if candidates:
        best = max(p.level for p in candidates)
        level = [p for p in candidates if p.level == best]
        row = min(level, key=lambda p: (_grade_rank(p.grade, g), p.code))
        return limits_for_grade(row, g)
    defaults = [p for p in book.policies if not (p.category_code or p.category_prefix)] or [book.default]
    row = min(defaults, key=lambda p: (_grade_rank(p.grade, g), p.code))
    return limits_for_grade(row, g)


# --- rows ⇄ policies ---------------------------------------------------------------------------------


def policy_of(row: SlaPolicy) -> Policy:
    return Policy(
        code=row.code,
        version=row.version,
        name=row.name,
        category_code=row.category_code,
        category_prefix=row.category_prefix,
        grade=row.grade,
        sign=TimeLimit(row.sign_amount, cast(Unit, row.sign_unit)),
        handle=TimeLimit(row.handle_amount, cast(Unit, row.handle_unit)),
        verify=TimeLimit(row.verify_amount, cast(Unit, row.verify_unit)),
        require_photo=row.require_photo,
    )


def book_of(rows: Iterable[SlaPolicy]) -> PolicyBook:
    policies = tuple(policy_of(r) for r in rows if r.active)
    plain_defaults = [p for p in policies if p.code == DEFAULT_CODE]
    return PolicyBook(policies, plain_defaults[0] if plain_defaults else BUILTIN_DEFAULT)


def active_rows(session: Session) -> list[SlaPolicy]:
    query = select(SlaPolicy).where(col(SlaPolicy.active).is_(True)).order_by(col(SlaPolicy.code))
    return list(session.exec(query))


def load_policies(session: Session) -> PolicyBook:
    """The active policies in the database (in this transaction: an edit it made is already there)."""
    return book_of(active_rows(session))


def policy_version(session: Session, code: str | None, version: int | None) -> Policy | None:
    """One recorded version (also a retired one): what a running round of clocks keeps counting with."""
    if code is None or version is None:
        return None
    if (code, version) == (BUILTIN_DEFAULT.code, BUILTIN_DEFAULT.version):
        return BUILTIN_DEFAULT
    row = session.exec(select(SlaPolicy).where(SlaPolicy.code == code, SlaPolicy.version == version)).first()
    return policy_of(row) if row is not None else None


def history(session: Session, code: str) -> list[SlaPolicy]:
    """Every version of a policy, newest first (who changed it, when and why)."""
    query = select(SlaPolicy).where(SlaPolicy.code == code).order_by(col(SlaPolicy.version).desc())
    return list(session.exec(query))


# --- editing -----------------------------------------------------------------------------------------


def _fields_of(row: SlaPolicy | None) -> dict[str, Any]:
    if row is None:
        return {"name": "", "category_code": None, "category_prefix": None, "grade": None, "require_photo": False}
    return {k: getattr(row, k) for k in EDITABLE if k != "active"}


def _check_fields(values: Mapping[str, Any], code: str, reference: ReferenceCodes | None) -> None:
    where = f"policy {code}"
    for kind in LIMIT_KINDS:
        unit, amount = values.get(f"{kind}_unit"), values.get(f"{kind}_amount")
        if unit not in UNITS:
            raise PolicyError(f"{where}: {kind} unit must be one of {', '.join(UNITS)}, not {unit!r}")
        if not isinstance(amount, int | float) or isinstance(amount, bool) or not 0 < float(amount) <= 10000:
            raise PolicyError(f"{where}: {kind} amount must be a number above 0, not {amount!r}")
    grade = values.get("grade")
    if grade is not None and grade not in GRADES:
        raise PolicyError(f"{where}: grade must be one of {', '.join(GRADES)} or none, not {grade!r}")
    exact, prefix = values.get("category_code"), values.get("category_prefix")
    if exact and prefix:
        raise PolicyError(f"{where}: a policy is for one category code or one prefix, not both")
    if code == DEFAULT_CODE and (exact or prefix):
        raise PolicyError(f"{where}: the default policy names no category")
    if code != DEFAULT_CODE and not (exact or prefix) and grade is None:
        raise PolicyError(f"{where}: name a category code or prefix (only `default` applies to every case)")
    if reference is not None:
        if exact and exact not in reference.categories:
            raise PolicyError(f"{where}: unknown category {exact!r} (not an enabled matter code of the taxonomy)")
        if prefix and not any(c.startswith(prefix) for c in reference.categories):
            raise PolicyError(f"{where}: prefix {prefix!r} matches no category of the taxonomy")


def _clash(session: Session, code: str, values: Mapping[str, Any]) -> SlaPolicy | None:
    """Another active policy for the same category (or prefix) and grade: which one would apply?"""
    for other in active_rows(session):
        if other.code == code:
            continue
        same = (other.category_code, other.category_prefix, other.grade) == (
            values.get("category_code"),
            values.get("category_prefix"),
            values.get("grade"),
        )
        if same:
            return other
    return None


def save_policy(
    session: Session, code: str, *, editor: str, note: str, reference: ReferenceCodes | None = None, **fields: Any
) -> SlaPolicy:
    """Add the next version of policy `code` with `fields` changed (a new code starts at version 1) and
    deactivate the version before; `active=False` retires the policy. Clocks already running keep the
    version they started with. Every change needs a note. The caller commits."""
    editor = actor_id(editor)
    if not note.strip():
        raise PolicyError(f"policy {code}: a change needs a note (why)")
    if not code or len(code) > 64 or any(ch.isspace() for ch in code):
        raise PolicyError(f"policy code {code!r}: 1-64 characters, no spaces")
    unknown = sorted(set(fields) - EDITABLE)
    if unknown:
        raise PolicyError(f"policy {code}: unknown fields {', '.join(unknown)}")
    versions = history(session, code)
    current = next((r for r in versions if r.active), versions[0] if versions else None)
    values = _fields_of(current)
    if current is None:
        for kind in LIMIT_KINDS:
            limit = BUILTIN_DEFAULT.limit(kind)
            values |= {f"{kind}_amount": limit.amount, f"{kind}_unit": limit.unit}
    values |= {k: v for k, v in fields.items() if k != "active"}
    active = bool(fields.get("active", True))
    if code == DEFAULT_CODE and not active:
        raise PolicyError("the default policy cannot be retired (edit its limits instead)")
    _check_fields(values, code, reference if reference is not None else reference_codes(session))
    if active and (other := _clash(session, code, values)) is not None:
        raise PolicyError(f"policy {code}: policy {other.code} already covers the same category and grade")
    for row in versions:
        if row.active:
            row.active = False
            session.add(row)
    new = SlaPolicy(
        code=code,
        version=(versions[0].version + 1) if versions else 1,
        active=active,
        editor=editor,
        note=note.strip(),
        created_at=utcnow(),
        **values,
    )
    session.add(new)
    session.flush()
    return new


# --- files -------------------------------------------------------------------------------------------


def _limit_fields(raw: Any, where: str, kind: str) -> dict[str, Any]:
    if not isinstance(raw, dict) or "amount" not in raw or "unit" not in raw:
        raise PolicyError(f"{where}: {kind} needs amount and unit, e.g. {{amount: 2, unit: working_days}}")
    return {f"{kind}_amount": raw["amount"], f"{kind}_unit": raw["unit"]}


def _entry_fields(entry: dict[str, Any], base: dict[str, Any], where: str) -> dict[str, Any]:
    values = dict(base)
    for kind in LIMIT_KINDS:
        if kind in entry:
            values |= _limit_fields(entry[kind], where, kind)
    values["name"] = str(entry.get("name", values.get("name", "")))[:100]
    values["require_photo"] = bool(entry.get("require_photo", values.get("require_photo", False)))
    values["grade"] = entry.get("grade")
    return values


def _targets(entry: dict[str, Any], where: str) -> list[tuple[str, str | None, str | None]]:
    """(code suffix, category_code, category_prefix) per code the entry names."""
    out: list[tuple[str, str | None, str | None]] = []
    for key in ("categories", "prefixes"):
        raw = entry.get(key, [])
        if not isinstance(raw, list) or any(not isinstance(c, str) for c in raw):
            raise PolicyError(f"{where}: {key} must be a list of quoted strings (an unquoted 06010 is a number)")
        for c in raw:
            out.append((c, c, None) if key == "categories" else (f"{c}*", None, c))
    return out


def parse_policies(doc: Any, source: str = "policies") -> dict[str, dict[str, Any]]:
    """A policies document → {code: the fields of its row} (pure: reference codes are checked on save)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("default"), dict):
        raise PolicyError(f"{source}: expected a mapping with a `default` policy and a `policies` list")
    base = _entry_fields(doc["default"], {}, f"{source}: default")
    if any(f"{k}_unit" not in base for k in LIMIT_KINDS):
        raise PolicyError(f"{source}: default needs sign, handle and verify limits")
    default = base | {"grade": doc["default"].get("grade"), "category_code": None, "category_prefix": None}
    out: dict[str, dict[str, Any]] = {DEFAULT_CODE: default}
    entries = doc.get("policies", [])
    if not isinstance(entries, list):
        raise PolicyError(f"{source}: `policies` must be a list")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("id"):
            raise PolicyError(f"{source}: policy {i + 1} needs an id")
        pid = str(entry["id"])
        where = f"{source}: policy {pid}"
        values = _entry_fields(entry, base, where) | {"name": str(entry.get("name", ""))[:100]}
        targets = _targets(entry, where)
        if not targets:
            raise PolicyError(f"{where}: name categories or prefixes")
        for suffix, exact, prefix in targets:
            code = pid if len(targets) == 1 else f"{pid}:{suffix}"
            if code in out:
                raise PolicyError(f"{where}: duplicate policy {code}")
            note = str(entry.get("source", ""))
            out[code] = values | {"category_code": exact, "category_prefix": prefix, "_source": note}
    return out


def read_policies_file(path: Path) -> dict[str, dict[str, Any]]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from exc
    except OSError as exc:
        raise PolicyError(f"{path}: cannot be read ({exc.strerror})") from exc
    return parse_policies(doc, str(path))


@dataclass(frozen=True)
class ImportResult:
    added: list[str]
    changed: list[str]
    retired: list[str]
    unchanged: int


def _same(row: SlaPolicy, values: Mapping[str, Any]) -> bool:
    return all(getattr(row, k) == v for k, v in values.items() if not k.startswith("_"))


def import_policies(session: Session, specs: dict[str, dict[str, Any]], *, editor: str, note: str) -> ImportResult:
    """Make the active policies what `specs` (`parse_policies`) says: a new version for every code whose
    fields differ, version 1 for a new code, and the active codes the file no longer names retired. All
    or nothing: the first refused policy raises and the caller rolls back."""
    if not note.strip():
        raise PolicyError("an import needs a note (why)")
    reference = reference_codes(session)
    current = {r.code: r for r in active_rows(session)}
    added: list[str] = []
    changed: list[str] = []
    retired: list[str] = []
    unchanged = 0
    for code in sorted(set(current) - set(specs)):
        save_policy(session, code, editor=editor, note=note, reference=reference, active=False)
        retired.append(code)
    for code, values in specs.items():
        row = current.get(code)
        if row is not None and _same(row, values):
            unchanged += 1
            continue
        fields = {k: v for k, v in values.items() if not k.startswith("_")}
        source = values.get("_source")
        row_note = f"{note.strip()} ({source})" if source and row is None else note
        save_policy(session, code, editor=editor, note=row_note, reference=reference, **fields)
        (changed if row is not None else added).append(code)
    return ImportResult(added, changed, retired, unchanged)


def seed_policies(session: Session, path: Path | None = None) -> int:
    """The shipped (or configured) policies into an empty table; nothing when it has rows. Returns the
    number of policies written."""
    if session.exec(select(SlaPolicy.id).limit(1)).first() is not None:
        return 0
    specs = read_policies_file(path or routing_settings().sla_policies_path or DEFAULT_POLICIES)
    result = import_policies(session, specs, editor="system:seed", note="shipped SLA policies")
    return len(result.added)


# --- the book a running process reads outside a transaction (previews, queues) ------------------------


def _build_book() -> PolicyBook:
    with session_scope() as session:
        return load_policies(session)


def policies_digest(session: Session) -> str:
    query = select(func.count(), func.max(SlaPolicy.created_at), func.max(SlaPolicy.id))
    count, newest, top = session.exec(query).one()
    return hashlib.sha256(f"{count}\n{newest}\n{top}".encode()).hexdigest()


def _digest() -> str | None:
    try:
        with session_scope() as session:
            return policies_digest(session)
    except SQLAlchemyError:
        return None  # the database is away for a moment: keep the book in use


def _refreshing() -> providers.Refreshing[PolicyBook]:
    return providers.Refreshing(
        "sla policies", _build_book, _digest, lambda: routing_settings().routing_refresh_seconds
    )


POLICY_BOOK = providers.Key("sla policies", _refreshing)


def policy_book() -> PolicyBook:
    """The active policies as this process last read them (refreshed within the routing refresh period):
    for previews and queues. Clocks read the policies in their own transaction (`load_policies`)."""
    return providers.get(POLICY_BOOK).get()
