"""Admin settings: company, branding, late fees, email templates, payment providers, staff and API keys."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user
from wtforms import SelectChoice

from portal.admin.forms import (
    AddressForm,
    ApiKeyForm,
    BrandingForm,
    CompanyForm,
    EmailTemplateForm,
    InvoiceDefaultsForm,
    LateFeeForm,
    LogoForm,
    MailAttachmentsForm,
    PasswordForm,
    ProviderForm,
    ReadyNotificationForm,
    ReminderSettingsForm,
    SelfServiceForm,
    SmsForm,
    StaffForm,
    StaffRoleForm,
    major_units,
    minor_units,
)
from portal.admin.roles import ROLE_LABELS
from portal.admin.views import bp, failure, form_status, load, merchant, render_account
from portal.domain.errors import DomainError
from portal.domain.late_fees import LateFeePolicy
from portal.extensions import db
from portal.models.sms import SmsAccount
from portal.payments.methods import METHOD_LABELS, PROVIDER_CODES
from portal.payments.registry import PROVIDERS
from portal.services import access, branding, email_templates, merchants, payment_settings, reminders, sms
from portal.theming import available_themes, logo_data_uri


@bp.get("/settings")
def settings_home():
    return redirect(url_for("admin.settings_company"))


# -- Company (the legal identity on documents) -------------------------------------------------------


@bp.route("/settings/company", methods=["GET", "POST"])
def settings_company():
    current = merchant()
    if request.method == "GET":
        seller = current.legal_identity
        form = CompanyForm(
            formdata=None,
            data={
                **seller.to_json(),
                "name": current.name,
                "address": AddressForm.data_of(seller.address),
            },
        )
    else:
        form = CompanyForm()
    status = None
    if form.validate_on_submit():
        try:
            merchants.set_company(
                current,
                name=form.name.data,
                legal_name=form.legal_name.data,
                address=form.address.form.address(),
                email=form.email.data,
                vat_number=form.vat_number.data,
                company_number=form.company_number.data,
                phone=form.phone.data,
                website=form.website.data,
                iban=form.iban.data,
                bic=form.bic.data,
            )
            db.session.commit()
        except DomainError as exc:
            status = failure(exc, form)
        else:
            flash("Company details saved. Documents issued from now on show them; issued ones keep theirs.", "success")
            return redirect(url_for("admin.settings_company"), code=303)
    return render_template("admin/settings/company.html", form=form, section="company"), status or form_status(form)


# -- Branding ------------------------------------------------------------------------------------


def _branding_page(
    form: BrandingForm | None = None,
    logo_form: LogoForm | None = None,
    status: int = 200,
    defaults_form: InvoiceDefaultsForm | None = None,
):
    current = merchant()
    if form is None:
        form = BrandingForm(
            formdata=None,
            primary_color=current.primary_color,
            accent_color=current.accent_color,
            theme=current.theme,
            terms=current.terms,
        )
    form.theme.choices = [SelectChoice(name, name.title()) for name in available_themes()]
    return (
        render_template(
            "admin/settings/branding.html",
            form=form,
            logo_form=logo_form or LogoForm(formdata=None),
            defaults_form=defaults_form
            or InvoiceDefaultsForm(formdata=None, default_tax_rate=current.default_tax_rate),
            logo_uri=logo_data_uri(current),
            section="branding",
        ),
        status,
    )


@bp.route("/settings/branding", methods=["GET", "POST"])
def settings_branding():
    if request.method == "GET":
        return _branding_page()
    form = BrandingForm()
    form.theme.choices = [SelectChoice(name, name.title()) for name in available_themes()]
    if form.validate_on_submit():
        try:
            branding.set_branding(
                merchant(),
                primary_color=form.primary_color.data,
                accent_color=form.accent_color.data,
                theme=form.theme.data,
                terms=form.terms.data,
            )
            db.session.commit()
        except DomainError as exc:
            return _branding_page(form, status=failure(exc, form))
        flash("Branding saved. The portal, emails and PDFs use it from now on.", "success")
        return redirect(url_for("admin.settings_branding"), code=303)
    return _branding_page(form, status=422)


@bp.post("/settings/invoice-defaults")
def settings_invoice_defaults():
    form = InvoiceDefaultsForm()
    if form.validate_on_submit():
        try:
            branding.set_default_tax_rate(merchant(), form.default_tax_rate.data)
            db.session.commit()
        except DomainError as exc:
            return _branding_page(status=failure(exc, form), defaults_form=form)
        flash("Invoice defaults saved. New lines take this tax rate from now on.", "success")
        return redirect(url_for("admin.settings_branding"), code=303)
    return _branding_page(status=422, defaults_form=form)


@bp.post("/settings/logo")
def settings_logo():
    form = LogoForm()
    if form.validate_on_submit():
        try:
            branding.set_logo(merchant(), form.logo.data.read(branding.MAX_LOGO_BYTES + 1))
            db.session.commit()
        except DomainError as exc:
            return _branding_page(logo_form=form, status=failure(exc, form))
        flash("Logo uploaded.", "success")
        return redirect(url_for("admin.settings_branding"), code=303)
    return _branding_page(logo_form=form, status=422)


@bp.post("/settings/logo/delete")
def settings_logo_delete():
    branding.remove_logo(merchant())
    db.session.commit()
    flash("Logo removed.", "success")
    return redirect(url_for("admin.settings_branding"), code=303)


# -- Late fees -----------------------------------------------------------------------------------


@bp.route("/settings/late-fees", methods=["GET", "POST"])
def settings_late_fees():
    current = merchant()
    currency = current.default_currency
    if request.method == "GET":
        form = LateFeeForm(
            formdata=None,
            annual_rate=current.late_annual_rate,
            fee_percent=current.late_fee_percent,
            fee_minimum=major_units(current.late_fee_minimum, currency),
            grace_days=current.late_grace_days,
        )
    else:
        form = LateFeeForm()
    status = None
    if form.validate_on_submit():
        try:
            policy = LateFeePolicy(
                annual_rate=form.annual_rate.data,
                fee_percent=form.fee_percent.data,
                fee_minimum=minor_units(form.fee_minimum.data, currency, "fee_minimum"),
                grace_days=form.grace_days.data,
            )
            merchants.set_late_fee_policy(current, policy)
            db.session.commit()
        except DomainError as exc:
            status = failure(exc, form)
        else:
            flash("Late-fee policy saved. It applies to invoices finalized from now on.", "success")
            return redirect(url_for("admin.settings_late_fees"), code=303)
    return render_template(
        "admin/settings/late_fees.html", form=form, currency=currency, section="late_fees"
    ), status or form_status(form)


# -- Email templates -----------------------------------------------------------------------------


def _languages() -> list[str]:
    return list(current_app.config["LANGUAGES"])


@bp.route("/settings/email-templates", methods=["GET", "POST"])
def settings_email_templates():
    templates = email_templates.invoice_templates(merchant(), _languages())
    forms = {
        language: EmailTemplateForm(formdata=None, subject=text.subject, body=text.body, prefix=language)
        for language, (text, _own) in templates.items()
    }
    status = 200
    if request.method == "POST":
        language = request.form.get("language", "")
        if language not in forms:
            return redirect(url_for("admin.settings_email_templates"), code=303)
        form = EmailTemplateForm(prefix=language)
        forms[language] = form
        if form.validate_on_submit():
            try:
                if request.form.get("reset") == "1":
                    email_templates.reset_invoice_template(merchant(), language)
                    message = "Back to the built-in wording."
                else:
                    email_templates.set_invoice_template(
                        merchant(), language, subject=form.subject.data, body=form.body.data
                    )
                    message = "Email template saved."
                db.session.commit()
            except DomainError as exc:
                status = failure(exc, form)
            else:
                flash(message, "success")
                return redirect(url_for("admin.settings_email_templates", _anchor=f"lang-{language}"), code=303)
        else:
            status = 422
    return render_template(
        "admin/settings/email_templates.html",
        forms=forms,
        ready_form=ReadyNotificationForm(formdata=None, enabled=merchant().send_when_finalized),
        attachments_form=MailAttachmentsForm(formdata=None, ubl=merchant().attach_ubl_to_mail),
        self_service_form=SelfServiceForm(
            formdata=None,
            approval=merchant().billing_changes_need_approval,
            viewers_read_only=merchant().viewers_read_only,
        ),
        own={language: own for language, (_text, own) in templates.items()},
        section="email_templates",
    ), status


# -- Reminders -----------------------------------------------------------------------------------


@bp.route("/settings/reminders", methods=["GET", "POST"])
def settings_reminders():
    current = merchant()
    steps = reminders.reminder_steps(current)
    if request.method == "GET":
        data = {name: step.offset_days for name, step in zip(ReminderSettingsForm.STEP_FIELDS, steps, strict=False)}
        form = ReminderSettingsForm(
            formdata=None,
            enabled=current.reminders_enabled,
            consumer_preset=current.consumer_preset,
            legal_interest_rate=current.legal_interest_rate,
            **data,
        )
    else:
        form = ReminderSettingsForm()
    status = None
    if form.validate_on_submit():
        try:
            reminders.set_reminder_settings(
                current,
                enabled=form.enabled.data,
                offsets=form.offsets(),
                consumer_preset=form.consumer_preset.data,
                legal_interest_rate=form.legal_interest_rate.data,
            )
            db.session.commit()
        except DomainError as exc:
            status = failure(exc, form)
        else:
            flash("Reminder settings saved.", "success")
            return redirect(url_for("admin.settings_reminders"), code=303)
    return render_template(
        "admin/settings/reminders.html",
        form=form,
        steps=steps,
        own={step.id: sorted((step.templates or {}).keys()) for step in steps},
        section="reminders",
    ), status or form_status(form)


@bp.route("/settings/reminders/<int:step_id>", methods=["GET", "POST"])
def settings_reminder_step(step_id: int):
    step = load(reminders.get_step, step_id)
    texts = {language: reminders.step_template(step, language) for language in _languages()}
    forms = {
        language: EmailTemplateForm(formdata=None, subject=text.subject, body=text.body, prefix=language)
        for language, (text, _own) in texts.items()
    }
    status = 200
    if request.method == "POST":
        language = request.form.get("language", "")
        if language not in forms:
            return redirect(url_for("admin.settings_reminder_step", step_id=step.id), code=303)
        form = EmailTemplateForm(prefix=language)
        forms[language] = form
        if form.validate_on_submit():
            try:
                if request.form.get("reset") == "1":
                    reminders.reset_step_template(step, language)
                    message = "Back to the built-in wording."
                else:
                    reminders.set_step_template(step, language, subject=form.subject.data, body=form.body.data)
                    message = "Reminder wording saved."
                db.session.commit()
            except DomainError as exc:
                status = failure(exc, form)
            else:
                flash(message, "success")
                return redirect(
                    url_for("admin.settings_reminder_step", step_id=step.id, _anchor=f"lang-{language}"), code=303
                )
        else:
            status = 422
    return render_template(
        "admin/settings/reminder_step.html",
        step=step,
        forms=forms,
        own={language: own for language, (_text, own) in texts.items()},
        section="reminders",
    ), status


@bp.post("/settings/ready-notification")
def settings_ready_notification():
    form = ReadyNotificationForm()
    if form.validate_on_submit():
        merchants.set_send_when_finalized(merchant(), form.enabled.data)
        db.session.commit()
        flash(
            "Invoices are now mailed as soon as they are finalized."
            if form.enabled.data
            else "Invoices are mailed only when you send them.",
            "success",
        )
    return redirect(url_for("admin.settings_email_templates"), code=303)


@bp.post("/settings/self-service")
def settings_self_service():
    form = SelfServiceForm()
    if form.validate_on_submit():
        merchant().billing_changes_need_approval = bool(form.approval.data)
        merchant().viewers_read_only = bool(form.viewers_read_only.data)
        db.session.commit()
        flash("Customer self-service settings saved.", "success")
    return redirect(url_for("admin.settings_email_templates", _anchor="self-service"), code=303)


@bp.post("/settings/mail-attachments")
def settings_mail_attachments():
    form = MailAttachmentsForm()
    if form.validate_on_submit():
        merchants.set_attach_ubl_to_mail(merchant(), form.ubl.data)
        db.session.commit()
        flash(
            "Invoice emails now carry the e-invoice (XML) beside the PDF."
            if form.ubl.data
            else "Invoice emails carry the PDF only.",
            "success",
        )
    return redirect(url_for("admin.settings_email_templates", _anchor="mail-attachments"), code=303)


# -- Payment providers ---------------------------------------------------------------------------


@bp.route("/settings/payments", methods=["GET", "POST"])
def settings_payments():
    current_settings = payment_settings.provider_settings(merchant())
    forms = {
        name: ProviderForm(formdata=None, enabled=setting.enabled, prefix=name)
        for name, setting in current_settings.items()
    }
    status = 200
    if request.method == "POST":
        name = request.form.get("provider", "")
        if name not in forms:
            return redirect(url_for("admin.settings_payments"), code=303)
        form = ProviderForm(prefix=name)
        forms[name] = form
        if form.validate_on_submit():
            try:
                payment_settings.set_provider_account(
                    merchant(),
                    name,
                    enabled=form.enabled.data,
                    api_key=(form.api_key.data or "").strip() or None,
                    webhook_secret=(form.webhook_secret.data or "").strip() or None,
                    methods=request.form.getlist(f"{name}-methods") or None,
                )
                db.session.commit()
            except DomainError as exc:
                if exc.field and "." in exc.field:
                    exc.field = exc.field.split(".", 1)[1]
                status = failure(exc, form)
            else:
                flash(f"{PROVIDERS[name].label} settings saved.", "success")
                return redirect(url_for("admin.settings_payments"), code=303)
        else:
            status = 422
    return render_template(
        "admin/settings/payments.html",
        forms=forms,
        settings=current_settings,
        labels={name: provider.label for name, provider in PROVIDERS.items()},
        method_labels=METHOD_LABELS,
        provider_methods={name: [m for m in METHOD_LABELS if m in codes] for name, codes in PROVIDER_CODES.items()},
        section="payments",
    ), status


# -- Text messages (Twilio) ----------------------------------------------------------------------


@bp.route("/settings/sms", methods=["GET", "POST"])
def settings_sms():
    account = db.session.get(SmsAccount, merchant().id)
    if request.method == "POST":
        form = SmsForm()
    elif account is not None:
        form = SmsForm(formdata=None, enabled=account.enabled, account_sid=account.account_sid, sender=account.sender)
    else:
        form = SmsForm(formdata=None, enabled=True)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                sms.set_sms_account(
                    merchant(),
                    enabled=form.enabled.data,
                    account_sid=form.account_sid.data,
                    sender=form.sender.data,
                    auth_token=form.auth_token.data or None,
                )
                db.session.commit()
            except DomainError as exc:
                status = failure(exc, form)
            else:
                flash("Text message settings saved.", "success")
                return redirect(url_for("admin.settings_sms"), code=303)
        else:
            status = 422
    return render_template("admin/settings/sms.html", form=form, account=account, section="sms"), status


# -- Staff accounts ------------------------------------------------------------------------------


def _staff_page(form=None, status: int = 200):
    return render_template(
        "admin/settings/staff.html",
        users=access.list_staff(merchant()),
        form=form or StaffForm(formdata=None),
        role_choices=StaffRoleForm(formdata=None).role.choices,
        section="staff",
    ), status


@bp.get("/settings/staff")
def settings_staff():
    return _staff_page()


@bp.post("/settings/staff")
def settings_staff_new():
    form = StaffForm()
    if not form.validate_on_submit():
        return _staff_page(form, status=422)
    try:
        user = merchants.create_staff_user(
            merchant(),
            email=form.email.data,
            name=form.name.data or "",
            password=form.password.data,
            role=form.role.data,
        )
        db.session.commit()
    except DomainError as exc:
        return _staff_page(form, status=failure(exc, form))
    flash(
        f"Staff account {user.email} created as {ROLE_LABELS[user.role].lower()}. Give them their password in person.",
        "success",
    )
    return redirect(url_for("admin.settings_staff"), code=303)


@bp.post("/settings/staff/<int:user_id>/role")
def settings_staff_role(user_id: int):
    user = load(access.get_staff_user, user_id)
    form = StaffRoleForm()
    if not form.validate_on_submit():
        flash("Choose one of the roles.", "error")
        return redirect(url_for("admin.settings_staff"), code=303)
    try:
        access.set_staff_role(user, form.role.data)
        db.session.commit()
        flash(f"{user.email} is now {ROLE_LABELS[user.role].lower()}.", "success")
    except DomainError as exc:
        failure(exc)
    return redirect(url_for("admin.settings_staff"), code=303)


@bp.post("/settings/staff/<int:user_id>/active")
def settings_staff_active(user_id: int):
    user = load(access.get_staff_user, user_id)
    try:
        access.set_staff_active(user, request.form.get("active") == "1", acting=current_user)
        db.session.commit()
        flash(f"{user.email} is {'enabled' if user.active else 'disabled'}.", "success")
    except DomainError as exc:
        failure(exc)
    return redirect(url_for("admin.settings_staff"), code=303)


@bp.post("/settings/password")
def settings_password():
    # Every role changes its own password here (roles.py: OWN_ACCOUNT); the form lives on the account page.
    form = PasswordForm()
    if not form.validate_on_submit():
        return render_account(password_form=form, status=422)
    try:
        access.change_password(current_user, current=form.current_password.data, new=form.new_password.data)
        db.session.commit()
        login_user(current_user._get_current_object())  # this session carries on; every other one ended
    except DomainError as exc:
        return render_account(password_form=form, status=failure(exc, form))
    flash("Your password is changed.", "success")
    return redirect(url_for("admin.account"), code=303)


# -- API keys ------------------------------------------------------------------------------------


def _api_keys_page(form=None, new_token: str | None = None, status: int = 200):
    return render_template(
        "admin/settings/api_keys.html",
        keys=access.list_api_keys(merchant()),
        form=form or ApiKeyForm(formdata=None),
        new_token=new_token,
        section="api_keys",
    ), status


@bp.get("/settings/api-keys")
def settings_api_keys():
    return _api_keys_page()


@bp.post("/settings/api-keys")
def settings_api_key_new():
    form = ApiKeyForm()
    if not form.validate_on_submit():
        return _api_keys_page(form, status=422)
    _key, token = merchants.create_api_key(merchant(), name=form.name.data.strip())
    db.session.commit()
    # Shown in this response only: the key is stored hashed and can never be displayed again.
    return _api_keys_page(new_token=token)


@bp.post("/settings/api-keys/<int:key_id>/revoke")
def settings_api_key_revoke(key_id: int):
    try:
        key = access.revoke_api_key(merchant(), key_id)
        db.session.commit()
    except DomainError as exc:
        failure(exc)
        return redirect(url_for("admin.settings_api_keys"), code=303)
    flash(f"API key {key.prefix}… revoked.", "success")
    return redirect(url_for("admin.settings_api_keys"), code=303)
