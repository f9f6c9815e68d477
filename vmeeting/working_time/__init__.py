"""The working calendar: hours, public holidays (Tết included), declared days off and working days."""
