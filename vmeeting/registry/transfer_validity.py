"""An import names units as they are on its day: a row naming a unit that has ended is refused, its successor named.

After Lạng Sơn's reorganisation (01/7/2025, Nghị quyết 1672/NQ-UBTVQH15) an office's old sheet still
says "Huyện Cao Lộc" or "Xã Hợp Thành"; the row is refused in the preview with what the unit became
(registry.succession.resolve_on), so the person writes the successor rather than guessing.
"""

from vmeeting.core.text import fold, say
from vmeeting.registry import succession


class EndedUnits:
    """The units an import's rows name that had ended before its day, with what stands for them that day."""

    def __init__(self, units, day):
        self.day = day
        ended = [u for u in units if u.valid_to is not None and u.valid_to < day]
        self.now = succession.resolve_on({u.id for u in ended}, day) if ended else {}
        self.by_code, self.by_name = {}, {}
        for unit in ended:
            self.by_code.setdefault(unit.code, unit)
            for name in {fold(unit.name), fold(unit.full_name)}:
                self.by_name.setdefault(name, unit)

    def reason(self, unit):
        """Return the Vietnamese reason a row naming unit is refused, or None while the unit is valid."""
        if unit.id not in self.now:
            return None
        successors = self.now[unit.id]
        if successors:
            return say("Đơn vị «%(unit)s» (mã %(code)s) đã kết thúc ngày %(end)s; nay là: %(successors)s."
                       " Hãy ghi đơn vị kế thừa.", unit=unit.full_name, code=unit.code,
                       end=unit.valid_to.strftime("%d/%m/%Y"),
                       successors="; ".join(f"{u.name} (mã {u.code})" for u in successors))
        return say("Đơn vị «%(unit)s» (mã %(code)s) đã kết thúc ngày %(end)s và không có đơn vị kế thừa.",
                   unit=unit.full_name, code=unit.code, end=unit.valid_to.strftime("%d/%m/%Y"))

    def reason_for_code(self, code):
        unit = self.by_code.get(code)
        return self.reason(unit) if unit is not None else None

    def reason_for_name(self, name):
        unit = self.by_name.get(fold(name))
        return self.reason(unit) if unit is not None else None
