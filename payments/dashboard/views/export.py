"""CSV export page and download."""

from __future__ import annotations

from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.cache import never_cache

from payments.audit.models import AuditLog
from payments.audit.services import audit_record
from payments.dashboard import forms
from payments.dashboard.csv_export import csv_lines
from payments.dashboard.views.base import dash_of, dashboard_view, page


@never_cache
@dashboard_view()
def export_view(request: HttpRequest) -> HttpResponseBase:
    dash = dash_of(request)
    form = forms.ExportForm(request.GET or None)
    if request.GET and form.is_valid():
        d = form.cleaned_data
        if not dash.can(d["kind"]):
            return page(request, "dashboard/forbidden.html", {"resource": d["kind"]}, status=403)
        start, end = d["start"] or form.fields["start"].initial, d["end"] or form.fields["end"].initial
        audit_record(action="export.csv", surface=AuditLog.Surface.DASHBOARD, actor=request.user,
                     merchant_id=dash.merchant_id, request=request,
                     detail={"kind": d["kind"], "start": start.isoformat(), "end": end.isoformat()})
        response = StreamingHttpResponse(csv_lines(d["kind"], dash.merchant_id, start, end),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{d["kind"]}-{start}-to-{end}.csv"'
        return response
    kinds = [k for k in forms.ExportForm.KINDS if dash.can(k[0])]
    return page(request, "dashboard/export.html", {"form": form, "kinds": kinds},
                status=400 if form.errors else 200)
