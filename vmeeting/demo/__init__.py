"""The Lạng Sơn demo province: its real 2020 unit tree, 213 sites, bridges and demo users."""

from vmeeting.demo.loader import DEMO_LOGINS, database_is_empty, demo_logins, load_demo  # noqa: F401
