#!/usr/bin/env node
// Diff two CloudFormation templates with the CDK's own diff engine (@aws-cdk/cloudformation-diff, the
// library behind `cdk diff`) and print what changed as JSON for review/changes.py:
//   node cfn_diff.js OLD.template.json NEW.template.json [PATHS.json]
// PATHS.json (optional) maps logical ids to construct paths for the human-readable `cdk diff` text.
'use strict';

const fs = require('fs');
const { fullDiff, formatDifferences } = require('@aws-cdk/cloudformation-diff');

function readJson(path) {
  return JSON.parse(fs.readFileSync(path, 'utf8'));
}

function differences(collection) {
  const found = {};
  for (const name of Object.keys(collection)) {
    const change = collection[name];
    found[name] = { old: change.oldValue ?? null, new: change.newValue ?? null, impact: change.changeImpact ?? null };
  }
  return found;
}

function renderStatements(statements) {
  return statements.map((statement) => statement.render());
}

function main() {
  const [oldPath, newPath, pathsPath] = process.argv.slice(2);
  if (!oldPath || !newPath) {
    process.stderr.write('usage: cfn_diff.js OLD.template.json NEW.template.json [PATHS.json]\n');
    process.exit(2);
  }
  const diff = fullDiff(readJson(oldPath), readJson(newPath));
  const resources = [];
  diff.resources.forEachDifference((logicalId, change) => {
    resources.push({
      logicalId,
      oldType: change.oldResourceType ?? null,
      newType: change.newResourceType ?? null,
      isAddition: change.isAddition,
      isRemoval: change.isRemoval,
      impact: change.changeImpact,
      properties: differences(change.propertyUpdates),
      other: differences(change.otherChanges),
      deletionPolicy: (change.oldValue && change.oldValue.DeletionPolicy) || null,
    });
  });
  const iam = diff.iamChanges;
  const text = [];
  const stream = { columns: 120, write: (chunk) => { text.push(String(chunk)); return true; } };
  formatDifferences(stream, diff, pathsPath ? readJson(pathsPath) : {});
  const keys = (collection) => (collection ? collection.logicalIds : []);
  process.stdout.write(JSON.stringify({
    resources,
    permissionsBroadened: diff.permissionsBroadened,
    iam: {
      added: renderStatements(iam.statements.additions),
      removed: renderStatements(iam.statements.removals),
      managedPoliciesAdded: iam.managedPolicies.additions.map((p) => p.render ? p.render() : p),
      managedPoliciesRemoved: iam.managedPolicies.removals.map((p) => p.render ? p.render() : p),
    },
    securityGroupsChanged: diff.securityGroupChanges.hasChanges,
    outputs: keys(diff.outputs),
    parameters: keys(diff.parameters),
    text: text.join('').replace(/\u001b\[[0-9;]*m/g, ''),
  }));
}

main();
