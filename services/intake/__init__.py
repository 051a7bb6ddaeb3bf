"""Intake: residents report by web form, app API or Open311; stored, then published via outbox."""
