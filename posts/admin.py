from django.contrib import admin

from .models import Post


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("title", "author", "published", "created_at", "updated_at")
    list_filter = ("published", "created_at")
    list_editable = ("published",)
    search_fields = ("title", "body", "author__email", "author__name")
    autocomplete_fields = ("author",)
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "updated_at")
    list_select_related = ("author",)

    def get_changeform_initial_data(self, request):
        return {"author": request.user.pk, **super().get_changeform_initial_data(request)}
