"""What the router remembers of a report: its content and routing rounds, for re-routing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel


class RoutedReport(SQLModel, table=True):
    __tablename__ = "routed_report"

    report_id: str = Field(primary_key=True, max_length=36)
    report: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    routing_round: int = 1
    delivered_to: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    refused_by: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
