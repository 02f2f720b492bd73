"""How ``gradcheck`` reports a mismatch: ``GradcheckError`` and the comparison of two Jacobians.

A report names the (output, input) block, its worst entry with both values, how many entries
are out of tolerance, the first wrong entries one by one and, for small blocks, both Jacobians.
"""
from __future__ import annotations

import numpy as np

__all__ = ["GradcheckError", "compare", "index_text", "max_abs"]

_MAX_PRINTED_ENTRIES = 64  # Jacobians up to this size are printed whole in an error message
_MAX_LISTED_ENTRIES = 5  # wrong entries listed one by one (row-major) in an error message


class GradcheckError(AssertionError):
    """A gradient check failed.  The attributes locate the worst mismatching entry.

    ``output_index``/``input_index``: position in fn's outputs / in ``inputs``;
    ``output_element``/``input_element``: multi-indices into those tensors;
    ``numerical``/``analytical``: the two values (for a float32 mismatch: the float64 and the
    float32 analytical value); ``max_abs_error``: over the whole (output, input) block.
    Attributes not relevant to a failure (e.g. a wrong gradient dtype) are ``None``.
    """

    def __init__(self, message: str, *, output_index=None, input_index=None,
                 output_element=None, input_element=None, numerical=None, analytical=None,
                 max_abs_error=None):
        super().__init__(message)
        self.output_index = output_index
        self.input_index = input_index
        self.output_element = output_element
        self.input_element = input_element
        self.numerical = numerical
        self.analytical = analytical
        self.max_abs_error = max_abs_error


def compare(reference, candidate, diff, checked, shapes, labels, atol, rtol, headline, note,
            ref_name, cand_name):
    """Raise GradcheckError for the first (output, input) block with an entry out of tolerance:
    |candidate - reference| <= atol + rtol * |reference|, a nan anywhere being a mismatch."""
    out_label, in_label = labels
    out_shapes, in_shapes = shapes
    for k in checked:
        for j, p in enumerate(diff):
            ref, cand = reference[k][j], candidate[k][j]
            block_atol = atol[k][j] if isinstance(atol, dict) else atol
            err = np.abs(cand - ref)
            bad = ~(err <= block_atol + rtol * np.abs(ref))
            if not bad.any():
                continue
            err = np.where(np.isnan(err), np.inf, err)
            row, col = np.unravel_index(int(np.argmax(np.where(bad, err, -1.0))), err.shape)
            out_el = tuple(int(i) for i in np.unravel_index(row, out_shapes[k]))
            in_el = tuple(int(i) for i in np.unravel_index(col, in_shapes[p]))
            max_err = float(err.max())
            msg = [
                headline.format(out=out_label(k), inp=in_label(p)) + ",",
                f"  worst entry: d output{k}{index_text(out_el)} / d input{p}{index_text(in_el)}",
                f"    {ref_name + ':':<11} {float(ref[row, col])!r}",
                f"    {cand_name + ':':<11} {float(cand[row, col])!r}",
                f"  max abs error: {max_err:.6g} ({int(bad.sum())} of {bad.size} entries exceed "
                f"atol + rtol * |{ref_name}| with atol={block_atol:.3g}, rtol={rtol:.3g})",
                f"  ({note})",
            ]
            if bad.sum() > 1:
                msg.append(f"  first wrong entries ({ref_name} vs {cand_name}):")
                for r, c in list(zip(*np.nonzero(bad)))[:_MAX_LISTED_ENTRIES]:
                    o = index_text(tuple(int(i) for i in np.unravel_index(r, out_shapes[k])))
                    i = index_text(tuple(int(i) for i in np.unravel_index(c, in_shapes[p])))
                    msg.append(f"    d output{k}{o} / d input{p}{i}: {float(ref[r, c])!r} vs {float(cand[r, c])!r}")
            if ref.size <= _MAX_PRINTED_ENTRIES:
                msg += ["  rows: elements of the output, columns: elements of the input",
                        f"  {ref_name}:", _indent_text(np.array2string(ref, precision=6)),
                        f"  {cand_name}:", _indent_text(np.array2string(cand, precision=6))]
            raise GradcheckError("\n".join(msg), output_index=k, input_index=p,
                                 output_element=out_el, input_element=in_el,
                                 numerical=float(ref[row, col]), analytical=float(cand[row, col]),
                                 max_abs_error=max_err)


def max_abs(block) -> float:
    """The largest absolute entry of ``block`` (0 when it is empty)."""
    return float(np.max(np.abs(block))) if block.size else 0.0


def index_text(multi_index: tuple) -> str:
    """``[1, 2]`` for a multi-index, ``[()]`` for a 0-d tensor's."""
    return "[" + ", ".join(str(i) for i in multi_index) + "]" if multi_index else "[()]"


def _indent_text(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())
