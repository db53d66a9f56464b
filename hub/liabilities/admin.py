from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from hub.liabilities.models import LiabilityRoot
from hub.liabilities.selectors import reserves_of
from hub.liabilities.services import liabilities_publish


@admin.action(description="Publish a new liabilities root now")
def publish_now(modeladmin: admin.ModelAdmin, request: HttpRequest,
                queryset: QuerySet[LiabilityRoot]) -> None:
    """Builds a fresh root over all liabilities (the selection only enables the action)."""
    if not request.user.is_superuser:
        modeladmin.message_user(request, "only a superuser may publish a root", messages.ERROR)
        return
    operator = getattr(request.user, "get_username", lambda: "?")()
    root = liabilities_publish(trigger=LiabilityRoot.Trigger.OPERATOR,
                               requested_by=f"admin:{operator}")
    modeladmin.message_user(request, f"root #{root.sequence} published ({root.commitment})",
                            messages.SUCCESS)


@admin.register(LiabilityRoot)
class LiabilityRootAdmin(admin.ModelAdmin):
    list_display = ("sequence", "issued_at", "totals", "reserve_ratio", "trigger", "requested_by")
    readonly_fields = [f.name for f in LiabilityRoot._meta.fields]
    actions = [publish_now]

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(require_POST(self.publish_view))
        return [path("publish/", view, name="hub_liabilityroot_publish"), *super().get_urls()]

    def publish_view(self, request: HttpRequest) -> HttpResponse:
        """The changelist's "Publish a new root now" button (works with an empty list). Only the
        button's own form publishes: any other POST here changes nothing."""
        if request.POST.get("confirm") == "publish":
            publish_now(self, request, LiabilityRoot.objects.none())
        else:
            self.message_user(request, "nothing published: use the button", messages.ERROR)
        return HttpResponseRedirect(reverse("admin:hub_liabilityroot_changelist"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="totals")
    def totals(self, obj: LiabilityRoot) -> str:
        return ", ".join(f"{a} {e['total']} ({e['leaves']})" for a, e in obj.roots.items())

    @admin.display(description="reserve ratio")
    def reserve_ratio(self, obj: LiabilityRoot) -> str:
        reserves = reserves_of(obj)
        return ", ".join(f"{a} {r['ratio']}" for a, r in reserves.items()) or obj.reserves_error
