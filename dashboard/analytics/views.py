"""Analytics pages: an index of the charts, each chart's page and its panels' CSV downloads."""

from collections.abc import Callable

from flask import Response, abort, render_template, request

from ..models import utcnow
from ..permissions import Permission, permission_required
from . import bp, queries
from .forms import FILTER_FIELDS, ChartFilterForm
from .payloads import Option
from .services import CHARTS, build_chart, default_steps, panel_csv, rollup_freshness


def _filter_args() -> dict[str, str]:
    """The filter parameters of this request, to carry into links (nothing else: ``url_for``
    gives meaning to keys such as ``_external``)."""
    return {k: v for k, v in request.args.items() if k in FILTER_FIELDS}


def _filter_form() -> ChartFilterForm:
    form = ChartFilterForm(formdata=request.args)
    types = [Option(i, name) for i, _, name in queries.activity_types()]
    form.set_options(queries.channels(), queries.groups(), queries.consents(), types)
    return form


@bp.app_template_filter("chart_cell")
def chart_cell(value: object) -> str:
    """A table cell as text: thousands separators, one decimal, a dash for no value."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


@bp.get("/")
@permission_required(Permission.VIEW_ANALYTICS)
def index():
    """The charts, with the current filters carried over to each."""
    return render_template(
        "analytics/index.html",
        charts=CHARTS.values(),
        freshness=rollup_freshness(),
        args=_filter_args(),
    )


def _chart_page(slug: str) -> Callable[[], str]:
    def page():  # type: ignore[no-untyped-def]
        form = _filter_form()
        chart_filter, messages = form.resolve(utcnow().date(), default_steps())
        return render_template(
            "analytics/chart.html",
            spec=CHARTS[slug],
            charts=CHARTS.values(),
            form=form,
            filter=chart_filter,
            result=build_chart(slug, chart_filter),
            messages=messages,
            freshness=rollup_freshness(),
            args=_filter_args(),
            csv_args=chart_filter.as_args(),
        )

    page.__doc__ = f"The {CHARTS[slug].title} chart page."
    return page


def _chart_csv(slug: str) -> Callable[[], Response]:
    def download() -> Response:
        chart_filter, messages = _filter_form().resolve(utcnow().date(), default_steps())
        if messages:
            return Response("\n".join(messages) + "\n", status=400, mimetype="text/plain")
        panels = {p.key: p for p in build_chart(slug, chart_filter).panels}
        panel = panels.get(request.args.get("panel", slug)) or abort(404)
        name = f"{panel.key}_{chart_filter.start}_{chart_filter.end}.csv"
        return Response(
            panel_csv(panel.table),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    download.__doc__ = f"A panel of the {CHARTS[slug].title} chart as CSV."
    return download


for _slug in CHARTS:
    bp.add_url_rule(
        f"/{_slug}",
        _slug,
        permission_required(Permission.VIEW_ANALYTICS)(_chart_page(_slug)),
        methods=["GET"],
    )
    bp.add_url_rule(
        f"/{_slug}.csv",
        f"{_slug}_csv",
        permission_required(Permission.VIEW_ANALYTICS)(_chart_csv(_slug)),
        methods=["GET"],
    )
