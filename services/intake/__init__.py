"""Intake: residents report by web form, app API or Open311; stored durably, published via outbox."""
