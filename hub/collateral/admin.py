from __future__ import annotations

from django.contrib import admin

from hub.collateral.models import CollateralAssignment, CollateralProfile
from ops.admin_display import amount_column


class AssignmentInline(admin.TabularInline):
    model = CollateralAssignment
    extra = 1


@admin.register(CollateralProfile)
class CollateralProfileAdmin(admin.ModelAdmin):
    list_display = ("name", "minimum_shown", "collateralize_shown", "users")
    inlines = [AssignmentInline]
    minimum_shown = amount_column("minimum_maintained_token", asset="token", description="minimum maintained")
    collateralize_shown = amount_column("amount_to_collateralize_token", asset="token",
                                        description="amount to collateralize")

    @admin.display(description="users")
    def users(self, obj: CollateralProfile) -> int:
        return obj.assignments.count()


@admin.register(CollateralAssignment)
class CollateralAssignmentAdmin(admin.ModelAdmin):
    list_display = ("user", "profile", "created_at")
    search_fields = ("user",)
