"""Text: poetic forms and their checker, and the rule-based poet."""

from museforge.text.forms import FORMS, Form, Violation, check_poem

__all__ = ["FORMS", "Form", "Violation", "check_poem"]
