"""Documents fixtures: booking's (a district's sites, `book`), and a meeting of them with an agenda."""

from datetime import timedelta

import pytest

from tests.booking.conftest import book, next_monday, sites  # noqa: F401 (fixtures shared with booking's tests)
from tests.invites.conftest import invited, smtp  # noqa: F401 (a real SMTP server; sites with contacts)


@pytest.fixture
def meeting(book, sites):  # noqa: F811 (the imported fixtures)
    """A meeting of the provincial hall and four commune sites, on a Monday a fortnight or more away."""
    return book([sites["hall"], *sites["communes"]], next_monday(8) + timedelta(days=14), minutes=180,
                title="Hội nghị trực tuyến triển khai nhiệm vụ năm 2027",
                description="Báo cáo kết quả năm 2026.\nTriển khai nhiệm vụ năm 2027.")
