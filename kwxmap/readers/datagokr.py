"""공공데이터포털 (data.go.kr) ASOS open API responses, JSON and XML.

``AsosHourlyInfoService/getWthrDataList`` (``dateCd=HR``) and
``AsosDalyInfoService/getWthrDataList`` (``dateCd=DAY``) answer with
``response.header`` (``resultCode`` ``"00"`` when all is well, ``resultMsg``)
and ``response.body.items.item[]``; each item names the time ``tm``, the
station ``stnId`` and ``stnNm``, and the temperature ``ta`` (hourly) or
``avgTa``, ``minTa``, ``maxTa`` (daily). Field names as in the services'
guides (기상청 지상(종관, ASOS) 시간자료/일자료 조회서비스). A blank value is
missing. A service error (an ``OpenAPI_ServiceResponse`` with ``errMsg`` and
``returnAuthMsg``, or a ``resultCode`` other than ``00``) is a ParseError
that quotes KMA's message.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ParseError
from ._common import Context, Result, finish

__all__ = ["read_json", "read_xml", "sniff_json", "sniff_xml"]

_FIELDS = {"tavg": ("ta", "avgTa"), "tmin": ("minTa",), "tmax": ("maxTa",)}


def sniff_json(head: str) -> bool:
    """Return True for a JSON response of the data.go.kr services.

    Examples
    --------
    >>> sniff_json('{"response": {"header": {"resultCode": "00"}}}')
    True
    """
    return head.lstrip("\ufeff \t\r\n").startswith("{") and '"response"' in head[:4096]


def sniff_xml(head: str) -> bool:
    """Return True for an XML response (or service error) of the data.go.kr services.

    Examples
    --------
    >>> sniff_xml('<?xml version="1.0"?><response><header>')
    True
    """
    start = head.lstrip("\ufeff \t\r\n")[:4096]
    return start.startswith("<") and ("<response>" in start or "<OpenAPI_ServiceResponse" in start)


def _items(
    code: object, message: object, items: Sequence[Mapping[str, Any]]
) -> Sequence[Mapping[str, Any]]:
    if code is not None and str(code).strip() not in ("00", "0"):
        raise ParseError(
            f"data.go.kr returned resultCode {code!r} ({message!r}) instead of data; "
            "check the service key, dates and station ids of the request"
        )
    return items


def _result(items: Sequence[Mapping[str, Any]], context: Context) -> Result:
    fields = _FIELDS.get(context.variable, ())
    present = next((f for f in fields if items and f in items[0]), None)
    if items and present is None:
        have = sorted(k for k in items[0] if k.endswith(("Ta", "ta")))
        raise ParseError(
            f"variable={context.variable!r}: the response items have no "
            f"{' or '.join(fields)} field (temperatures present: {', '.join(have) or 'none'})"
        )

    def get(item: Mapping[str, Any], key: str | None) -> str:
        value = item.get(key, "") if key is not None else ""
        return "" if value is None else str(value)

    return finish(
        lines=list(range(1, len(items) + 1)),
        stations=[get(i, "stnId") for i in items],
        names=[get(i, "stnNm") for i in items],
        temps=[get(i, present) for i in items],
        times=[get(i, "tm") for i in items],
        texts=[json.dumps(dict(i), ensure_ascii=False)[:200] for i in items],
    )


def read_json(text: str, context: Context) -> Result:
    """Read a JSON response.

    Examples
    --------
    >>> text = ('{"response": {"header": {"resultCode": "00", "resultMsg": "NORMAL_SERVICE"},'
    ...         ' "body": {"items": {"item": [{"tm": "2024-01-15 06:00", "stnId": "108",'
    ...         ' "stnNm": "서울", "ta": "-5.2"}]}}}}')
    >>> read_json(text, Context()).frame[["station_id", "temperature_c"]].values.tolist()
    [[108, -5.2]]
    """
    try:  # integers stay text (as the service sends them): no 4,300-digit limit to hit
        doc = json.loads(text, parse_int=str)
    except (json.JSONDecodeError, RecursionError) as exc:
        where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise ParseError(
            f"the data.go.kr JSON response is cut short or broken{where}; download it again"
        ) from None
    response = doc.get("response") if isinstance(doc, dict) else None
    if not isinstance(response, dict):
        raise ParseError("the JSON has no 'response' object; is it a data.go.kr response?")
    header = response.get("header") or {}
    body = response.get("body") or {}
    items = body.get("items") if isinstance(body, dict) else None
    item = items.get("item", []) if isinstance(items, dict) else []
    item = [item] if isinstance(item, dict) else item
    if not isinstance(item, list) or not all(isinstance(i, dict) for i in item):
        raise ParseError("response.body.items.item is not a list of objects")
    code = header.get("resultCode") if isinstance(header, dict) else None
    msg = header.get("resultMsg") if isinstance(header, dict) else None
    return _result(_items(code, msg, item), context)


def read_xml(text: str, context: Context) -> Result:
    """Read an XML response.

    Examples
    --------
    >>> text = ('<response><header><resultCode>00</resultCode></header><body><items>'
    ...         '<item><tm>2024-01-15</tm><stnId>108</stnId><stnNm>서울</stnNm>'
    ...         '<avgTa>-3.1</avgTa><minTa>-7.5</minTa><maxTa>1.0</maxTa></item>'
    ...         '</items></body></response>')
    >>> read_xml(text, Context(variable="tmin")).frame["temperature_c"].tolist()
    [-7.5]
    """
    try:
        root = ET.fromstring(text.lstrip("\ufeff \t\r\n"))
    except ET.ParseError as exc:
        raise ParseError(
            f"the data.go.kr XML response is cut short or broken ({exc}); download it again"
        ) from None
    if root.tag == "OpenAPI_ServiceResponse":
        msg = " / ".join(
            (root.findtext(f".//{tag}") or "").strip()
            for tag in ("errMsg", "returnAuthMsg")
        )
        raise ParseError(
            f"data.go.kr returned a service error instead of data: {msg!r}; check the "
            "service key and the request"
        )
    items = [{child.tag: (child.text or "") for child in item} for item in root.iter("item")]
    return _result(
        _items(root.findtext("header/resultCode"), root.findtext("header/resultMsg"), items),
        context,
    )
