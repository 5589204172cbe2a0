"""Pet inventory steps."""
import random
from decimal import Decimal

from behave import given, then, when

from api_steps_support import call  # noqa: F401  (placeholder replaced below)
