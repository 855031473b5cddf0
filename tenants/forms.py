"""Forms of the public sign-up page."""

from __future__ import annotations

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from tenants.services import subdomain_validate


class SignupForm(forms.Form):
    organisation = forms.CharField(label="Organisation name", max_length=200)
    subdomain = forms.CharField(
        max_length=40,
        help_text="Your AlertEngine address: lowercase letters, digits and hyphens.",
    )
    email = forms.EmailField(label="Your email", help_text="You sign in to your organisation's admin with it.")
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label="Password again", widget=forms.PasswordInput, strip=False)

    def clean_subdomain(self) -> str:
        return subdomain_validate(subdomain=self.cleaned_data["subdomain"].strip().lower())

    def clean(self) -> dict:
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first and cleaned.get("email"):
            try:
                validate_password(first)
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned
