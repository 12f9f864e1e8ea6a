"""The one reader of a Prometheus exposition (``/metrics``) for tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Samples:
    """Every sample of one scrape, by name and label set."""

    values: dict[tuple[str, Labels], float]

    @classmethod
    def parse(cls, exposition: str) -> Samples:
        return cls(
            {
                (sample.name, tuple(sorted(sample.labels.items()))): sample.value
                for family in text_string_to_metric_families(exposition)
                for sample in family.samples
            }
        )

    def value(self, name: str, **labels: str) -> float:
        """The sample with exactly these labels (0 when absent, as a counter not yet touched)."""
        return self.values.get((name, tuple(sorted(labels.items()))), 0.0)

    def matching(self, name: str, **labels: str) -> list[float]:
        """The values of every sample of ``name`` that carries ``labels`` (and maybe more)."""
        wanted = set(labels.items())
        return [
            value
            for (sample, sample_labels), value in self.values.items()
            if sample == name and wanted <= set(sample_labels)
        ]

    def total(self, name: str, **labels: str) -> float:
        """The sum of :meth:`matching` (0 when none)."""
        return sum(self.matching(name, **labels))
