"""Mass balance of a transformation (merge, split, refining, manufacturing) and the ``mass_gain`` rule.

Losses are normal (dust, slag, a refinery's 0.1-0.5 %); a gain beyond the tolerance means someone
added gold that has no recorded origin, or overstated an output.

- Merges and splits move the same material: the check is on gross grams (outputs against the
  inputs, or against the split lot's mass). An assay of a merged lot that is richer than the field
  estimates of its inputs corrects an estimate; it is not gold appearing.
- Refining and manufacturing change the fineness: the check is on fine gold (grams times fineness)
  when every fineness is known. A refining with an unknown input fineness falls back to gross grams
  (refining cannot add metal). A manufacturing adds alloy, so its gross grams prove nothing; with an
  input of unknown fineness its output's fine gold is held to the most its inputs could hold, that
  input counted as pure gold (``fine_gold_bound``): a pinch of gold of unknown origin never makes
  the whole balance unchecked.
"""
from __future__ import annotations

from dataclasses import dataclass

from consumers.checks.facts import Side, Transformation
from consumers.checks.findings import Finding, grams, ratio
from consumers.lineage.graph import refining_node_id


@dataclass(frozen=True)
class Balance:
    """Grams in and out of one transformation, and its recovery (out over in) on the basis used."""

    event_id: str
    type: str
    recorded_by: str
    input_g: float | None
    output_g: float
    fine_in_g: float | None
    fine_out_g: float | None
    #: ``fine_gold``, ``gross``, ``fine_gold_bound`` (``fine_in_g`` is then the most fine gold the inputs
    #: could hold) or None when the balance could not be checked
    basis: str | None
    recovery: float | None


def _fine(sides: tuple[Side, ...]) -> float | None:
    if not sides or any(side.fineness is None for side in sides):
        return None
    return sum(side.mass_g * side.fineness for side in sides)


def _fine_at_most(sides: tuple[Side, ...]) -> float:
    """The most fine gold ``sides`` can hold: an unknown fineness counted as pure gold."""
    return sum(side.mass_g * (side.fineness if side.fineness is not None else 1.0) for side in sides)


def mass_balance(tx: Transformation) -> Balance:
    """The balance of one transformation on the best basis its facts allow."""
    input_g = tx.input_lot_g if tx.type == "lot.split" else sum(side.mass_g for side in tx.inputs)
    output_g = sum(side.mass_g for side in tx.outputs)
    fine_in, fine_out = _fine(tx.inputs), _fine(tx.outputs)
    basis: str | None = None
    recovery: float | None = None
    if tx.type in ("lot.refined", "product.manufactured") and fine_in and fine_out is not None:
        basis, recovery = "fine_gold", fine_out / fine_in
    elif tx.type == "product.manufactured" and fine_out is not None and _fine_at_most(tx.inputs):
        fine_in = _fine_at_most(tx.inputs)
        basis, recovery = "fine_gold_bound", fine_out / fine_in
    elif tx.type != "product.manufactured" and input_g:
        basis, recovery = "gross", output_g / input_g
    return Balance(tx.event_id, tx.type, tx.recorded_by, input_g, output_g, fine_in, fine_out, basis, recovery)


def subject_of(tx: Transformation) -> str:
    """The node a transformation's finding is about: the refining node, else its first output."""
    if tx.type == "lot.refined":
        return refining_node_id(tx.event_id)
    return tx.outputs[0].lot_id if tx.outputs else tx.event_id


def mass_gain(tx: Transformation, balance: Balance, tolerance: float) -> list[Finding]:
    """A transformation whose outputs hold more gold than its inputs, beyond ``tolerance``."""
    if balance.recovery is None or balance.recovery <= 1 + tolerance:
        return []
    fine = balance.basis in ("fine_gold", "fine_gold_bound")
    gold_in = balance.fine_in_g if fine else balance.input_g
    gold_out = balance.fine_out_g if fine else balance.output_g
    what = "fine gold" if fine else "gross grams"
    at_most = "at most " if balance.basis == "fine_gold_bound" else ""
    subject = subject_of(tx)
    return [Finding(
        kind="mass_gain", subject_id=subject, key=tx.event_id, severity="high",
        message=(f"{tx.type} {tx.event_id} by {tx.recorded_by} put out {grams(gold_out)} g of {what} from "
                 f"{at_most}{grams(gold_in)} g in (recovery {ratio(balance.recovery)})."),
        proof=(tx.event_id,),
        detail={"basis": balance.basis, "input_g": grams(gold_in), "output_g": grams(gold_out),
                "gain_g": grams(gold_out - gold_in), "recovery": ratio(balance.recovery), "tolerance": tolerance},
        links=tuple(dict.fromkeys([subject, *(side.lot_id for side in tx.outputs)])),
    )]
