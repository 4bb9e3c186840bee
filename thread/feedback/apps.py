from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "thread.feedback"
    label = "feedback"
    verbose_name = "Feedback (shop-floor results, quality events, roll-ups)"
