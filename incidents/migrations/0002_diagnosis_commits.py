# Diagnosis runs (token usage per tenant), the GitHub commit source, deliveries and commits (issue 6).

import django.db.models.deletion
import saas.fields
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='Commit',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sha', models.CharField(max_length=40)),
                ('repository', models.CharField(help_text='owner/name', max_length=200)),
                ('branch', models.CharField(max_length=200)),
                ('message', models.TextField()),
                ('author', models.CharField(max_length=200)),
                ('committed_at', models.DateTimeField()),
                ('pushed_at', models.DateTimeField()),
                ('files_added', models.JSONField(default=list)),
                ('files_modified', models.JSONField(default=list)),
                ('files_removed', models.JSONField(default=list)),
                ('additions', models.PositiveIntegerField(blank=True, null=True)),
                ('deletions', models.PositiveIntegerField(blank=True, null=True)),
            ],
            options={
                'ordering': ['-pushed_at', '-committed_at'],
            },
        ),
        migrations.CreateModel(
            name='CommitSource',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('webhook_secret', saas.fields.EncryptedTextField(help_text="The secret you typed into GitHub's webhook settings.")),
                ('github_token', saas.fields.EncryptedTextField(blank=True, help_text="Optional, read-only: lets AlertEngine fetch each commit's additions and deletions.")),
                ('db_path_rules', models.TextField(blank=True, help_text="Paths that count as database or query code, one rule per line, replacing the defaults: a name matches a whole folder or file name (or a word of it), '*.sql' matches an extension.")),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'verbose_name': 'GitHub commit source',
            },
        ),
        migrations.CreateModel(
            name='DiagnosisRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('round', models.PositiveSmallIntegerField(help_text='1 for the opening diagnosis, then one per re-diagnosis.')),
                ('role', models.CharField(choices=[('single', 'Single model'), ('A', 'Council model A'), ('B', 'Council model B')], max_length=8)),
                ('model', models.CharField(max_length=100)),
                ('trigger', models.CharField(max_length=200)),
                ('ok', models.BooleanField()),
                ('error', models.CharField(blank=True, max_length=300)),
                ('input_tokens', models.PositiveIntegerField(default=0)),
                ('output_tokens', models.PositiveIntegerField(default=0)),
                ('prompt', models.TextField(blank=True, help_text='The user turn sent, so a re-diagnosis can replay the conversation.')),
                ('answer', models.JSONField(blank=True, help_text='The validated tool input.', null=True)),
                ('observation', models.JSONField(default=dict, help_text='The observation this round was based on.')),
                ('stage', models.CharField(help_text="The incident's stage when this round ran.", max_length=16)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['incident', 'round', 'role'],
            },
        ),
        migrations.CreateModel(
            name='GitHubDelivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('delivery_id', models.CharField(max_length=64, unique=True)),
                ('event', models.CharField(max_length=40)),
                ('received_at', models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.AddIndex(
            model_name='commit',
            index=models.Index(fields=['pushed_at'], name='incidents_c_pushed__afbffa_idx'),
        ),
        migrations.AddConstraint(
            model_name='commit',
            constraint=models.UniqueConstraint(fields=('repository', 'sha'), name='one_commit_per_repository_sha'),
        ),
        migrations.AddField(
            model_name='diagnosisrun',
            name='incident',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='diagnosis_runs', to='incidents.incident'),
        ),
        migrations.AddIndex(
            model_name='diagnosisrun',
            index=models.Index(fields=['created_at'], name='incidents_d_created_89b40d_idx'),
        ),
    ]
