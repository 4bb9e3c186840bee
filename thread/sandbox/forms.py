from django import forms

from .choices import FaultMode
from .models import MAX_SLOW_SECONDS


class PeerSwitchForm(forms.Form):
    fault = forms.ChoiceField(choices=FaultMode.choices)
    fault_topic = forms.CharField(required=False, max_length=100,
                                  help_text="For 400: the topic to refuse, e.g. mbom.published")
    retry_after_seconds = forms.IntegerField(required=False, min_value=1, max_value=3600)
    slow_seconds = forms.FloatField(required=False, min_value=0.1, max_value=MAX_SLOW_SECONDS)
