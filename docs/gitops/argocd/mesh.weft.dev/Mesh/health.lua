-- Argo CD health check for mesh.weft.dev/Mesh, from the conditions the Weft operator reports
-- (controllers/mesh/conditions.ts). Only Lua's base and table libraries are used: Argo CD opens no
-- others for a check configured in argocd-cm.
local hs = {}

-- Ready=False reasons that do not go away without someone changing something: the certificate
-- authority's Secret is missing or unusable (the operator retries, but the same Secret fails the
-- same way), or a control-plane or gateway rollout has passed its progress deadline (Argo CD reads
-- the same Deployment condition as Degraded). Every other reason is a step the operator is still
-- working through.
local terminalReasons = {
  SecretNotFound = true,
  SecretMissingKeys = true,
  MalformedCertificate = true,
  MalformedKey = true,
  NotACertificateAuthority = true,
  KeyMismatch = true,
  CertificateExpired = true,
  ChainMismatch = true,
  AnotherMeshActive = true,
  ApplyFailed = true,
  ProgressDeadlineExceeded = true,
}

local function findCondition(conditionType)
  if obj.status.conditions == nil then
    return nil
  end
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == conditionType then
      return condition
    end
  end
  return nil
end

local function describe(condition)
  return tostring(condition.reason) .. ": " .. tostring(condition.message)
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Weft operator to report the Mesh's status"
  return hs
end

-- Conditions written for an older spec say nothing about the current one, good or bad.
local generation = obj.metadata.generation
if generation ~= nil and obj.status.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the Weft operator to observe generation " .. tostring(generation)
  return hs
end

local reconciled = findCondition("Reconciled")
if reconciled ~= nil and reconciled.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(reconciled)
  return hs
end

local ready = findCondition("Ready")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = tostring(ready.message)
  return hs
end
if ready ~= nil and ready.status == "False" and terminalReasons[ready.reason] then
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end

hs.status = "Progressing"
if ready ~= nil then
  hs.message = describe(ready)
else
  hs.message = "Waiting for the Weft operator to report the Ready condition"
end
return hs
