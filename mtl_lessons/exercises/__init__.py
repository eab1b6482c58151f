"""Feedback for the lessons' exercises.

Each check compares a learner's answer with the value the course data gives (computed here,
never typed in), prints one line of feedback, and never raises: an exercise the learner has
not started (its answer still ``...`` or ``None``) gets a reminder instead of an error.
Checks return ``None`` so that a notebook cell shows the feedback line and nothing else.
"""
from ._feedback import feedback
from .lesson01 import *  # noqa: F401,F403  (one module per lesson)
from .lesson02 import *  # noqa: F401,F403  (one module per lesson)
from .lesson03 import *  # noqa: F401,F403  (one module per lesson)
from .lesson04 import *  # noqa: F401,F403  (one module per lesson)
from .lesson05 import *  # noqa: F401,F403  (one module per lesson)
from .lesson06 import *  # noqa: F401,F403  (one module per lesson)
from .lesson07 import *  # noqa: F401,F403  (one module per lesson)
from .lesson08 import *  # noqa: F401,F403  (one module per lesson)
from .lesson09 import *  # noqa: F401,F403  (one module per lesson)
from .lesson10 import *  # noqa: F401,F403  (one module per lesson)
from .lesson11 import *  # noqa: F401,F403
from . import lesson01, lesson02, lesson03, lesson04, lesson05, lesson06, lesson07, lesson08, lesson09, lesson10, lesson11

__all__ = ["feedback", *lesson01.__all__, *lesson02.__all__, *lesson03.__all__, *lesson04.__all__,
           *lesson05.__all__, *lesson06.__all__, *lesson07.__all__, *lesson08.__all__, *lesson09.__all__, *lesson10.__all__, *lesson11.__all__]
