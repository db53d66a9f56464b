from __future__ import annotations

from django.contrib import admin

from hub.collateral.models import CollateralAssignment, CollateralProfile


class AssignmentInline(admin.TabularInline):
    model = CollateralAssignment
    extra = 1


@admin.register(CollateralProfile)
class CollateralProfileAdmin(admin.ModelAdmin):
    list_display = ("name", "minimum_maintained_token", "amount_to_collateralize_token", "users")
    inlines = [AssignmentInline]

    @admin.display(description="users")
    def users(self, obj: CollateralProfile) -> int:
        return obj.assignments.count()


@admin.register(CollateralAssignment)
class CollateralAssignmentAdmin(admin.ModelAdmin):
    list_display = ("user", "profile", "created_at")
    search_fields = ("user",)
