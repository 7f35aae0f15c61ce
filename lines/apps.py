from django.apps import AppConfig


class LinesConfig(AppConfig):
    name = "lines"
    verbose_name = "Line types and reachability"

    def ready(self):
        from lines.numberfacts import line_facts
        from subscribers import numberfacts

        numberfacts.register(line_facts)
