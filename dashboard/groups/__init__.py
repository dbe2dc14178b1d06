"""Contact groups (segments): builder, membership, fresh refresh (R16, R17)."""

from ..blueprints import login_required_blueprint

bp = login_required_blueprint("groups", __name__, "/contacts/groups")


@bp.record_once
def _start_refresher(state) -> None:  # type: ignore[no-untyped-def]
    from .refresher import init_refresher

    init_refresher(state.app)


from . import views  # noqa: E402, F401
