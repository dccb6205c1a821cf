"""`?page=&limit=` as a query-parameter dependency (the value object is api.kernel.paging.PageParams)."""
from __future__ import annotations

from typing import Annotated

from fastapi import Query

from api.kernel.paging import PageParams

Page = Annotated[PageParams, Query()]
